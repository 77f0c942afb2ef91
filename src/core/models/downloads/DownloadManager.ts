/**
 * Downloads are our own code on `fetch`, not node-llama-cpp's `createModelDownloader`: that
 * downloader resumes and shows progress, but it does not check the hub's sha256 before the file
 * gets its final name, write our origin sidecar, share one concurrency bound between every
 * download of the app, or leave a partial file we can recognise and resume after a kill. Those
 * are the requirements here, and Range requests on fetch are a small amount of code.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { DownloadProgress, MachineResources, StarterModelInfo } from "../../../shared/api/hub.js";
import { MardukError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { HubClient } from "../hub/HubClient.js";
import { probeMachineResources } from "../hub/machineResources.js";
import { formatModelRef, parseModelRef } from "../modelRef.js";
import { STARTER_MODELS } from "../starterModels.js";
import { DownloadTask, freeDiskBytes, type CancelOptions, type DownloadResult } from "./DownloadTask.js";
import { downloadUrlPolicyFor } from "./downloadUrlPolicy.js";
import { DEFAULT_MAX_REDIRECTS } from "./fetchWithRedirectPolicy.js";
import { Semaphore } from "./Semaphore.js";

export type { DownloadResult, CancelOptions };
export { DownloadTask };

/** Options of {@link DownloadManager}. */
export interface DownloadManagerOptions {
  /** Where models go: `<modelsDir>/<owner>/<repo>/<file>`. */
  modelsDir: string;
  /** Resolves hf refs and starter models, and authenticates hub downloads. */
  hub: HubClient;
  /** Downloads fetching at once; more wait in the queue. Default: 2. */
  concurrency?: number;
  /** Retries of a failed attempt (network errors, stalls, HTTP 5xx/429) without progress. Default: 5. */
  retries?: number;
  /** First retry delay; it doubles each retry (with jitter). Default: 1000 ms. */
  retryBaseDelayMs?: number;
  /** Longest retry delay. Default: 30000 ms. */
  retryMaxDelayMs?: number;
  /** An attempt that receives nothing for this long is abandoned and retried. Default: 60000 ms. */
  stallTimeoutMs?: number;
  /** Least time between two progress events of one download. Default: 250 ms. */
  progressIntervalMs?: number;
  /** Disk space that must stay free after a download. Default: 256 MiB. */
  diskReserveBytes?: number;
  /**
   * Redirects one request may follow. Every hop is checked like the first URL: https, or plain
   * http only to loopback (or to the hub endpoint's own origin), and the hub token is sent only
   * while the chain stays on the hub's origin. Default: 10.
   */
  maxRedirects?: number;
  /** Does single requests (redirects are followed by the manager, with `redirect: "manual"`). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Free bytes of the filesystem holding a folder. Default: `fs.statfs`. */
  freeDiskBytes?: (dir: string) => Promise<number>;
  /** This machine's memory, to pick a quantization for starter models and bare repos. Default: RAM from the OS. */
  machine?: () => Promise<MachineResources>;
  /** Starter models `pull` accepts by name. Default: the curated list. */
  starters?: readonly StarterModelInfo[];
  logger?: Logger;
}

/** Options of {@link DownloadManager.start}. */
export interface StartDownloadOptions {
  /** Aborting it cancels the download (the partial file stays). */
  signal?: AbortSignal;
}

type ProgressListener = (progress: DownloadProgress) => void;

/**
 * Every download of the app: `hf:owner/repo/file.gguf`, `hf:owner/repo:Q4_K_M`, `hf:owner/repo`,
 * starter names and https URLs (plain http only to loopback, checked again on every redirect).
 * Bounded concurrency, resumable partial files, retries with backoff, progress events, cancel,
 * sha256 verification before the final rename; an answer that is not a GGUF file is refused
 * without keeping or quoting any of it.
 */
export class DownloadManager {
  private readonly tasks = new Map<string, DownloadTask>();
  private readonly listeners = new Set<ProgressListener>();
  private readonly claimed = new Map<string, string>();
  private readonly semaphore: Semaphore;
  private readonly starters: readonly StarterModelInfo[];
  private disposed = false;

  constructor(private readonly options: DownloadManagerOptions) {
    this.semaphore = new Semaphore(options.concurrency ?? 2);
    this.starters = options.starters ?? STARTER_MODELS;
  }

  get modelsDir(): string {
    return this.options.modelsDir;
  }

  /**
   * Starts (or queues) a download and returns its task at once; `task.done` settles when it ends.
   * A ref that is already downloading returns that download's task.
   * @throws InvalidArgumentError for a malformed ref (synchronously).
   */
  start(ref: string, options: StartDownloadOptions = {}): DownloadTask {
    if (this.disposed) throw new MardukError("internal_error", "The download manager is shutting down");
    const parsed = parseModelRef(ref, { starterNames: this.starters.map((starter) => starter.name), hubEndpoint: this.options.hub.endpoint });
    const canonical = formatModelRef(parsed);
    for (const task of this.tasks.values()) {
      if (task.ref === canonical && isActive(task)) return task;
    }
    const task = new DownloadTask(
      randomUUID(),
      canonical,
      parsed,
      {
        retries: this.options.retries ?? 5,
        retryBaseDelayMs: this.options.retryBaseDelayMs ?? 1000,
        retryMaxDelayMs: this.options.retryMaxDelayMs ?? 30_000,
        stallTimeoutMs: this.options.stallTimeoutMs ?? 60_000,
        progressIntervalMs: this.options.progressIntervalMs ?? 250,
        diskReserveBytes: this.options.diskReserveBytes ?? 256 * 1024 ** 2,
        freeDiskBytes: this.options.freeDiskBytes ?? freeDiskBytes,
        semaphore: this.semaphore,
        claimPaths: (paths, owner) => this.claimPaths(paths, owner),
        planContext: {
          modelsDir: path.resolve(this.options.modelsDir),
          hub: this.options.hub,
          starters: this.starters,
          machine: this.options.machine ?? (() => probeMachineResources()),
          fetch: this.options.fetch ?? globalThis.fetch,
          urlPolicy: downloadUrlPolicyFor(this.options.hub.endpoint),
          maxRedirects: this.options.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
        },
        logger: this.options.logger,
      },
      options.signal,
    );
    this.tasks.set(task.id, task);
    task.onProgress((progress) => {
      for (const listener of this.listeners) {
        try {
          listener(progress);
        } catch (error) {
          this.options.logger?.warn({ err: error }, "download listener failed");
        }
      }
    });
    return task;
  }

  /** Downloads and resolves with the result (start + done). */
  pull(ref: string, options: StartDownloadOptions = {}): Promise<DownloadResult> {
    return this.start(ref, options).done;
  }

  get(id: string): DownloadTask | undefined {
    return this.tasks.get(id);
  }

  /** Snapshots of every download of this session, oldest first. */
  list(): DownloadProgress[] {
    return [...this.tasks.values()].map((task) => task.progress());
  }

  /** Cancels a download; false when there is no such download or it already ended. */
  cancel(id: string, options: CancelOptions = {}): boolean {
    const task = this.tasks.get(id);
    if (!task || !isActive(task)) return false;
    task.cancel(options);
    return true;
  }

  /** Forgets downloads that ended (for a UI's "clear finished"). */
  clearFinished(): void {
    for (const [id, task] of this.tasks) if (!isActive(task)) this.tasks.delete(id);
  }

  /** Progress of every download (throttled per download) and every state change. Returns the unsubscribe. */
  onProgress(listener: ProgressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Downloads fetching right now (at most the concurrency). */
  get running(): number {
    return this.semaphore.running;
  }

  /** Cancels every download (their partial files stay for a later resume) and waits for them to stop. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const active = [...this.tasks.values()].filter(isActive);
    for (const task of active) task.cancel();
    await Promise.allSettled(active.map((task) => task.done));
    this.listeners.clear();
  }

  private claimPaths(paths: string[], owner: string): () => void {
    for (const filePath of paths) {
      const holder = this.claimed.get(filePath);
      if (holder !== undefined) {
        throw new MardukError("invalid_argument", `${path.basename(filePath)} is already being downloaded (${holder})`);
      }
    }
    for (const filePath of paths) this.claimed.set(filePath, owner);
    return () => {
      for (const filePath of paths) if (this.claimed.get(filePath) === owner) this.claimed.delete(filePath);
    };
  }
}

function isActive(task: DownloadTask): boolean {
  return task.state !== "completed" && task.state !== "failed" && task.state !== "cancelled";
}
