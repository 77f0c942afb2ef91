import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, statfs } from "node:fs/promises";
import type { DownloadOrigin, DownloadProgress, DownloadState, PullResult } from "../../../shared/api/hub.js";
import { AbortedError, toMardukError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { ModelRef } from "../modelRef.js";
import { backoffDelayMs, sleep } from "./backoff.js";
import { DownloadError } from "./downloadErrors.js";
import { acquireDownloadLock } from "./downloadLock.js";
import { fetchPartOnce, newHasher, syncHasher, type PartHasher } from "./fetchPart.js";
import { hasGgufMagic, notGgufError, readFileHead } from "./ggufMagic.js";
import { lockPathFor, partialMetaPathFor, readModelOrigin, writeJsonAtomic, writeModelOrigin } from "./originSidecar.js";
import { resolveDownloadPlan, type DownloadPlan, type PlanContext, type PlannedPart } from "./resolveDownloadPlan.js";
import type { Semaphore } from "./Semaphore.js";

/** What a finished download produced. */
export type DownloadResult = PullResult;

/** Settings a task gets from its manager. */
export interface DownloadTaskSettings {
  retries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  stallTimeoutMs: number;
  progressIntervalMs: number;
  diskReserveBytes: number;
  freeDiskBytes: (dir: string) => Promise<number>;
  semaphore: Semaphore;
  /** Claims the final paths in this process; throws when another task has one. Returns the release. */
  claimPaths: (paths: string[], ref: string) => () => void;
  planContext: Omit<PlanContext, "signal">;
  logger?: Logger;
}

/** Options of {@link DownloadTask.cancel}. */
export interface CancelOptions {
  /** Also delete the partial files (default false: they stay, and the next pull resumes). */
  deletePartial?: boolean;
}

type Listener = (progress: DownloadProgress) => void;

/** `.<file>.partial.json`: what the partial file is a partial of. */
interface PartialMeta {
  sha256?: string;
  url?: string;
  size?: number;
  /** A URL server's strong ETag, sent back as If-Range on resume. */
  etag?: string;
}

function buildOrigin(part: PlannedPart, sha256: string, downloadedAt: string): DownloadOrigin {
  const { source, repo, revision, file, url } = part.origin;
  return {
    source,
    ...(repo !== undefined ? { repo } : {}),
    ...(revision !== undefined ? { revision } : {}),
    file,
    sha256,
    url,
    downloadedAt,
  };
}

const SPEED_WINDOW_MS = 5000;

/** The free space of the filesystem holding `dir`, from `fs.statfs`. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

async function sizeOf(filePath: string): Promise<number | undefined> {
  try {
    return (await stat(filePath)).size;
  } catch {
    return undefined;
  }
}

async function sha256OfFile(filePath: string, signal: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath, { signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * One download: queued until the manager's concurrency allows it, then resolved to files,
 * fetched into `<final>.partial` (resuming whatever is there), verified (size and sha256) and
 * only then renamed to the final names, with an origin sidecar next to each file.
 */
export class DownloadTask {
  /** Settles with the result; rejects with a MardukError (AbortedError when cancelled). */
  readonly done: Promise<DownloadResult>;
  private currentState: DownloadState = "queued";
  private readonly controller = new AbortController();
  private readonly listeners = new Set<Listener>();
  private modelId?: string;
  private totalBytes?: number;
  private completedPartsBytes = 0;
  private currentHasher?: PartHasher;
  private resumedFromBytes = 0;
  private sessionBytes = 0;
  private part = 0;
  private parts = 0;
  private attempt = 0;
  private readonly startedAt = Date.now();
  private finishedAt?: number;
  private error?: string;
  private lastEmitAt = 0;
  private readonly samples: Array<{ at: number; bytes: number }> = [];
  private deletePartialOnCancel = false;
  private plan?: DownloadPlan;

  constructor(
    readonly id: string,
    readonly ref: string,
    private readonly parsedRef: ModelRef,
    private readonly settings: DownloadTaskSettings,
    signal?: AbortSignal,
  ) {
    if (signal) {
      if (signal.aborted) this.controller.abort(new AbortedError("Download cancelled"));
      else signal.addEventListener("abort", () => this.cancel(), { once: true });
    }
    this.done = this.run();
    // Failures are reported through `done` and events; an unobserved one must not crash the process.
    this.done.catch(() => undefined);
  }

  get state(): DownloadState {
    return this.currentState;
  }

  /** Listens to this task's progress (throttled) and every state change. Returns the unsubscribe. */
  onProgress(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the download. The partial files stay for a later resume unless asked otherwise. */
  cancel(options: CancelOptions = {}): void {
    if (options.deletePartial) this.deletePartialOnCancel = true;
    if (!this.controller.signal.aborted) this.controller.abort(new AbortedError("Download cancelled"));
  }

  /** A snapshot of the download. */
  progress(): DownloadProgress {
    const received = this.completedPartsBytes + (this.currentHasher?.bytes ?? 0);
    const speed = this.speed();
    const remaining = this.totalBytes === undefined ? undefined : Math.max(0, this.totalBytes - received);
    return {
      id: this.id,
      ref: this.ref,
      state: this.currentState,
      ...(this.modelId ? { modelId: this.modelId } : {}),
      receivedBytes: received,
      ...(this.totalBytes !== undefined ? { totalBytes: this.totalBytes } : {}),
      resumedFromBytes: this.resumedFromBytes,
      bytesPerSecond: speed,
      ...(remaining !== undefined && speed > 0 ? { etaSeconds: remaining / speed } : remaining === 0 ? { etaSeconds: 0 } : {}),
      part: this.part,
      parts: this.parts,
      attempt: this.attempt,
      startedAt: this.startedAt,
      ...(this.finishedAt !== undefined ? { finishedAt: this.finishedAt } : {}),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  /** Bytes per second over the last few seconds of this session (decays while nothing arrives). */
  private speed(): number {
    const first = this.samples[0];
    const elapsed = first ? Date.now() - first.at : 0;
    if (!first || elapsed < 250) return 0;
    return ((this.sessionBytes - first.bytes) * 1000) / elapsed;
  }

  private sample(): void {
    const now = Date.now();
    const last = this.samples.at(-1);
    if (last && now - last.at < 100) return;
    this.samples.push({ at: now, bytes: this.sessionBytes });
    while (this.samples.length > 2 && now - this.samples[0]!.at > SPEED_WINDOW_MS) this.samples.shift();
  }

  private emit(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastEmitAt < this.settings.progressIntervalMs) return;
    this.lastEmitAt = now;
    const snapshot = this.progress();
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (error) {
        this.settings.logger?.warn({ err: error }, "download progress listener failed");
      }
    }
  }

  private setState(state: DownloadState): void {
    this.currentState = state;
    this.emit(true);
  }

  private async run(): Promise<DownloadResult> {
    const signal = this.controller.signal;
    // Let the caller subscribe before the first event.
    await Promise.resolve();
    let release: (() => void) | undefined;
    try {
      this.setState("queued");
      release = await this.settings.semaphore.acquire(signal);
      this.setState("resolving");
      const plan = await resolveDownloadPlan({ ...this.settings.planContext, signal }, this.parsedRef);
      this.plan = plan;
      this.modelId = plan.modelId;
      this.parts = plan.parts.length;
      const sizes = plan.parts.map((part) => part.expectedSize);
      this.totalBytes = sizes.every((size) => size !== undefined) ? sizes.reduce<number>((sum, size) => sum + size!, 0) : undefined;
      const unclaim = this.settings.claimPaths(
        plan.parts.map((part) => part.finalPath),
        this.ref,
      );
      try {
        return await this.fetchPlan(plan, signal);
      } finally {
        unclaim();
      }
    } catch (error) {
      const failure = signal.aborted ? new AbortedError("Download cancelled") : toMardukError(error);
      this.finishedAt = Date.now();
      this.error = failure.message;
      if (signal.aborted && this.deletePartialOnCancel && this.plan) await this.deletePartials(this.plan);
      this.setState(signal.aborted ? "cancelled" : "failed");
      throw failure;
    } finally {
      release?.();
    }
  }

  private async fetchPlan(plan: DownloadPlan, signal: AbortSignal): Promise<DownloadResult> {
    const present = await this.alreadyPresent(plan, signal);
    if (present) {
      this.completedPartsBytes = plan.parts.reduce((sum, part) => sum + (part.expectedSize ?? 0), 0);
      this.finishedAt = Date.now();
      this.setState("completed");
      return { id: this.id, modelId: plan.modelId, paths: plan.parts.map((part) => part.finalPath), sizeBytes: this.completedPartsBytes, origins: present, alreadyPresent: true, resumedFromBytes: 0 };
    }
    await mkdir(plan.dir, { recursive: true });
    const releaseLock = await acquireDownloadLock(lockPathFor(plan.parts[0]!.finalPath), plan.modelId);
    try {
      const hashers = await this.preparePartials(plan, signal);
      await this.checkDisk(plan);
      this.part = 1;
      this.currentHasher = hashers[0];
      this.setState("downloading");
      for (const [index, part] of plan.parts.entries()) {
        this.part = index + 1;
        this.currentHasher = hashers[index]!;
        await this.fetchWithRetries(part, hashers[index]!, signal);
        this.completedPartsBytes += hashers[index]!.bytes;
        this.currentHasher = undefined;
      }
      this.setState("verifying");
      const digests: string[] = [];
      for (const [index, part] of plan.parts.entries()) digests.push(await this.verify(part, hashers[index]!, signal));
      // Every part is verified: only now do final names appear.
      const downloadedAt = new Date().toISOString();
      const origins: DownloadOrigin[] = [];
      for (const [index, part] of plan.parts.entries()) {
        await rename(part.partialPath, part.finalPath);
        const origin = buildOrigin(part, digests[index]!, downloadedAt);
        await writeModelOrigin(part.finalPath, origin);
        await rm(partialMetaPathFor(part.finalPath), { force: true });
        origins.push(origin);
      }
      this.finishedAt = Date.now();
      this.setState("completed");
      this.settings.logger?.info({ model: plan.modelId, bytes: this.completedPartsBytes }, "model downloaded");
      return {
        id: this.id,
        modelId: plan.modelId,
        paths: plan.parts.map((part) => part.finalPath),
        sizeBytes: this.completedPartsBytes,
        origins,
        alreadyPresent: false,
        resumedFromBytes: this.resumedFromBytes,
      };
    } finally {
      await releaseLock();
    }
  }

  /** The origins when every final file is there with the right size and sha256 (nothing to do). */
  private async alreadyPresent(plan: DownloadPlan, signal: AbortSignal): Promise<DownloadOrigin[] | undefined> {
    const origins: DownloadOrigin[] = [];
    for (const part of plan.parts) {
      const size = await sizeOf(part.finalPath);
      if (size === undefined || (part.expectedSize !== undefined && size !== part.expectedSize)) return undefined;
      const origin = await readModelOrigin(part.finalPath);
      if (origin && (part.sha256 === undefined || origin.sha256 === part.sha256)) {
        origins.push(origin);
        continue;
      }
      // A file put there by hand: hashing it is cheaper than fetching it again.
      if (part.sha256 === undefined) return undefined;
      if ((await sha256OfFile(part.finalPath, signal)) !== part.sha256) return undefined;
      const recorded = buildOrigin(part, part.sha256, new Date().toISOString());
      await writeModelOrigin(part.finalPath, recorded);
      origins.push(recorded);
    }
    return origins;
  }

  /**
   * Keeps each partial file only when it is a partial of the same content (same sha256/size/url
   * as recorded when it was started), records what the others will be, and hashes what is kept.
   */
  private async preparePartials(plan: DownloadPlan, signal: AbortSignal): Promise<PartHasher[]> {
    const hashers: PartHasher[] = [];
    for (const part of plan.parts) {
      const metaPath = partialMetaPathFor(part.finalPath);
      // Hub files are identified by their sha256 (the commit may move on without changing them);
      // URLs by the URL, and on resume by the ETag their server gave (sent back as If-Range).
      let recorded: PartialMeta | undefined;
      try {
        recorded = JSON.parse(await readFile(metaPath, "utf8")) as PartialMeta;
      } catch {
        recorded = undefined;
      }
      const same =
        recorded !== undefined &&
        (part.sha256 !== undefined
          ? recorded.sha256 === part.sha256 && recorded.size === part.expectedSize
          : recorded.sha256 === undefined && recorded.url === part.url && (part.expectedSize === undefined || recorded.size === undefined || recorded.size === part.expectedSize));
      const meta: PartialMeta = part.sha256 !== undefined ? { sha256: part.sha256, size: part.expectedSize } : { url: part.url, size: part.expectedSize };
      if (same && recorded?.etag) {
        meta.etag = recorded.etag;
        part.validator = recorded.etag;
      }
      const existing = (await sizeOf(part.partialPath)) ?? 0;
      if (!same) {
        if (existing > 0) this.settings.logger?.info({ file: part.partialPath }, "discarding a partial download of other content");
        await rm(part.partialPath, { force: true });
      }
      await writeJsonAtomic(metaPath, meta);
      const kept = same ? existing : 0;
      // Hash what is kept now, so resuming costs one read and the speed counts only new bytes.
      const hasher = newHasher();
      if (kept > 0 && (part.expectedSize === undefined || kept <= part.expectedSize)) {
        await syncHasher(hasher, part.partialPath, kept, signal);
        this.resumedFromBytes += kept;
      }
      hashers.push(hasher);
    }
    return hashers;
  }

  private async checkDisk(plan: DownloadPlan): Promise<void> {
    let needed = 0;
    for (const part of plan.parts) {
      if (part.expectedSize === undefined) return; // unknown: the write itself will fail cleanly
      needed += Math.max(0, part.expectedSize - ((await sizeOf(part.partialPath)) ?? 0));
    }
    if (needed === 0) return;
    const free = await this.settings.freeDiskBytes(plan.dir);
    if (free < needed + this.settings.diskReserveBytes) {
      throw new DownloadError(
        "insufficient_disk",
        `Not enough disk space in ${plan.dir}: ${plan.modelId} needs ${needed} more bytes (plus ${this.settings.diskReserveBytes} in reserve) but only ${free} are free`,
      );
    }
  }

  private async fetchWithRetries(part: PlannedPart, hasher: PartHasher, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.attempt = attempt;
      const before = hasher.bytes;
      let seen = hasher.bytes;
      try {
        await fetchPartOnce(part, {
          fetch: this.settings.planContext.fetch,
          urlPolicy: this.settings.planContext.urlPolicy,
          maxRedirects: this.settings.planContext.maxRedirects,
          signal,
          stallTimeoutMs: this.settings.stallTimeoutMs,
          hasher,
          onValidator: (etag) => {
            const meta: PartialMeta = { url: part.url, size: part.expectedSize, etag };
            return writeJsonAtomic(partialMetaPathFor(part.finalPath), meta);
          },
          onProgress: () => {
            // Only bytes fetched by this process count towards the speed (a restart lowers `bytes`).
            if (hasher.bytes > seen) this.sessionBytes += hasher.bytes - seen;
            seen = hasher.bytes;
            this.sample();
            this.emit();
          },
        });
        if (this.totalBytes === undefined && part.expectedSize !== undefined && this.parts === 1) this.totalBytes = part.expectedSize;
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        const failure = toMardukError(error);
        if (failure instanceof DownloadError && (failure.reason === "size_mismatch" || failure.reason === "not_gguf")) await this.deletePartial(part);
        if (!(failure instanceof DownloadError) || !failure.retryable) throw failure;
        // An attempt that made progress resets the count: a long download may drop now and then.
        if (hasher.bytes > before) attempt = 1;
        if (attempt > this.settings.retries) {
          throw new DownloadError(failure.reason, `${failure.message} (gave up after ${attempt} attempts)`, { cause: failure });
        }
        const delay = backoffDelayMs(attempt, this.settings.retryBaseDelayMs, this.settings.retryMaxDelayMs);
        this.settings.logger?.warn({ err: failure.message, attempt, delayMs: delay, file: part.finalPath }, "download attempt failed; retrying");
        this.emit(true);
        await sleep(delay, signal);
      }
    }
  }

  private async verify(part: PlannedPart, hasher: PartHasher, signal: AbortSignal): Promise<string> {
    const size = (await sizeOf(part.partialPath)) ?? 0;
    if (part.expectedSize !== undefined && size !== part.expectedSize) {
      await this.deletePartial(part);
      throw new DownloadError("size_mismatch", `${part.origin.file} has ${size} bytes, expected ${part.expectedSize}; the partial file was deleted`);
    }
    // Also catches a partial resumed from an earlier attempt (the first bytes were not re-read).
    if (part.checkGgufMagic) {
      const head = await readFileHead(part.partialPath);
      if (!hasGgufMagic(head)) {
        await this.deletePartial(part);
        throw notGgufError(new URL(part.url).host, head);
      }
    }
    await syncHasher(hasher, part.partialPath, size, signal);
    const digest = hasher.hash.copy().digest("hex");
    if (part.sha256 !== undefined && digest !== part.sha256) {
      await this.deletePartial(part);
      throw new DownloadError(
        "checksum_mismatch",
        `${part.origin.file} is corrupt: its sha256 is ${digest} but the hub lists ${part.sha256}. The partial file was deleted; pull again to start over.`,
      );
    }
    return digest;
  }

  private async deletePartial(part: PlannedPart): Promise<void> {
    await rm(part.partialPath, { force: true });
    await rm(partialMetaPathFor(part.finalPath), { force: true });
  }

  private async deletePartials(plan: DownloadPlan): Promise<void> {
    for (const part of plan.parts) await this.deletePartial(part).catch(() => undefined);
  }
}
