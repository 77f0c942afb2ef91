import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import type { BatchLineResult, BatchObject, BatchStore } from "../storage/BatchStore.js";
import type { FileStore } from "../storage/FileStore.js";
import { BATCH_ENDPOINTS, BatchInputError, parseBatchInput, type BatchInputLine } from "./batchInput.js";

/** A batch line's answer, as the endpoint's route would have sent it. */
export interface BatchLineResponse {
  statusCode: number;
  body: unknown;
  /** Set when the line could not run for now (the model's queue is full): run it again after this many seconds, record nothing. */
  retryAfterSeconds?: number;
}

/**
 * Runs one line through the inference door as its endpoint's route would (at background
 * priority). Resolves with the answer, also for client errors; rejects only when `signal` aborted.
 */
export type BatchLineExecutor = (line: BatchInputLine, signal: AbortSignal) => Promise<BatchLineResponse>;

/** What the runner needs. */
export interface BatchRunnerDeps {
  batches: BatchStore;
  files: FileStore;
  execute: BatchLineExecutor;
  logger: Logger;
}

/** Options of {@link BatchRunner}. */
export interface BatchRunnerOptions {
  /** Longest wait before a line refused by a full queue runs again, in ms. Default: 5000. */
  maxRetryDelayMs?: number;
}

/** The fields of `POST /v1/batches`. */
export interface CreateBatchRequest {
  input_file_id: string;
  endpoint: string;
  completion_window: string;
  metadata?: Record<string, string> | null;
}

/** An error of the Batch API with its HTTP status (the adapter's error handler reads `statusCode`). */
export class BatchRequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const COMPLETION_WINDOW_SECONDS = 24 * 60 * 60;

/** The deterministic ids of a batch's output and error files (so that finalizing twice writes them once). */
export function batchFileIds(batchId: string): { output: string; errors: string } {
  const suffix = batchId.replace(/^batch_/, "");
  return { output: `file-${suffix}-output`, errors: `file-${suffix}-errors` };
}

/**
 * Runs the batches of the Batch API one line at a time, oldest batch first. Each line's result
 * is recorded (durably, in SQLite) before the next line starts, so a batch left by a crash or
 * a shutdown resumes at the next start with the lines never recorded: a line runs at most once
 * per recorded result (one that was running when the process died runs again).
 */
export class BatchRunner {
  private readonly controller = new AbortController();
  private readonly listeners = new Set<(batch: BatchObject) => void>();
  private readonly maxRetryDelayMs: number;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly lineListeners = new Set<(failed: boolean) => void>();

  constructor(
    private readonly deps: BatchRunnerDeps,
    options: BatchRunnerOptions = {},
  ) {
    this.maxRetryDelayMs = Math.max(0, options.maxRetryDelayMs ?? 5000);
  }

  /** Starts working on the stored active batches (resuming those a previous process left). */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Creates a batch of an uploaded input file of the same owner (the API key's fingerprint;
   * absent: no key); the runner starts it at once.
   * @throws BatchRequestError (400/404) for a missing file or bad fields.
   */
  create(request: CreateBatchRequest, ownerKeyId?: string): BatchObject {
    if (!(BATCH_ENDPOINTS as readonly string[]).includes(request.endpoint)) {
      throw new BatchRequestError(400, `'endpoint' must be one of ${BATCH_ENDPOINTS.join(", ")}`, "invalid_endpoint");
    }
    if (request.completion_window !== "24h") throw new BatchRequestError(400, "'completion_window' must be \"24h\"", "invalid_completion_window");
    const file = this.deps.files.get(request.input_file_id);
    if (!file || file.ownerKeyId !== ownerKeyId) throw new BatchRequestError(404, `No file found with id '${request.input_file_id}'.`, "file_not_found");
    if (file.purpose !== "batch") throw new BatchRequestError(400, `The file '${file.id}' was not uploaded with purpose "batch"`, "invalid_input_file");
    const now = Date.now();
    const batch: BatchObject = {
      id: `batch_${randomUUID().replace(/-/g, "")}`,
      object: "batch",
      endpoint: request.endpoint,
      errors: null,
      input_file_id: file.id,
      completion_window: request.completion_window,
      status: "validating",
      output_file_id: null,
      error_file_id: null,
      created_at: seconds(now),
      in_progress_at: null,
      // Shown as OpenAI does; this server does not expire batches (they run until done).
      expires_at: seconds(now) + COMPLETION_WINDOW_SECONDS,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: request.metadata ?? null,
    };
    this.deps.batches.create(batch, ownerKeyId);
    this.changed(batch);
    return batch;
  }

  /** A batch, or undefined. */
  get(id: string): BatchObject | undefined {
    return this.deps.batches.get(id);
  }

  /** Batches newest first (OpenAI's paging: `limit`, `after`), of one owner when `owner` is given (else all: the app's Jobs list). */
  list(limit = 20, after?: string, owner?: { ownerKeyId: string | undefined }): BatchObject[] {
    return this.deps.batches.list(Math.min(1000, Math.max(1, limit)), after, owner);
  }

  /** Whether the batch exists and was made by that owner (the API key's fingerprint; undefined: no key). */
  isOwnedBy(id: string, ownerKeyId: string | undefined): boolean {
    const owner = this.deps.batches.ownerOf(id);
    return owner !== undefined && owner === (ownerKeyId ?? null);
  }

  /**
   * Asks a batch to stop: it becomes "cancelling", the line running finishes, and it ends
   * "cancelled" with the results so far. A finished batch is returned as it is.
   * @returns undefined when there is no such batch.
   */
  cancel(id: string): BatchObject | undefined {
    const batch = this.deps.batches.update(id, (current) =>
      current.status === "validating" || current.status === "in_progress" ? { ...current, status: "cancelling", cancelling_at: seconds(Date.now()) } : undefined,
    );
    if (batch) this.changed(batch);
    return batch;
  }

  /** Registers a listener of every change of a batch (status, counts); returns the function that removes it. */
  onChange(listener: (batch: BatchObject) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a listener of every line's recorded result (failed: a non-2xx answer); returns the function that removes it. Must not throw. */
  onLineRecorded(listener: (failed: boolean) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Stops after the line running (its result is not recorded: it runs again at the next start); batches stay resumable. */
  async dispose(): Promise<void> {
    this.controller.abort();
    this.wakeUp?.();
    await this.loop;
    this.listeners.clear();
    this.lineListeners.clear();
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  private changed(batch: BatchObject): void {
    for (const listener of this.listeners) {
      try {
        listener(batch);
      } catch (error) {
        this.deps.logger.warn({ err: error }, "batch listener failed");
      }
    }
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const next = this.deps.batches.active()[0];
      if (!next) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve));
        this.wakeUp = undefined;
        continue;
      }
      try {
        await this.advance(next);
      } catch (error) {
        if (this.stopped) return;
        this.deps.logger.error({ err: error, batch: next.id }, "batch failed");
        this.fail(next.id, "internal_error", "The batch failed on the server", null);
      }
    }
  }

  /** Takes a batch one step further (validating → in_progress → finalizing → completed; cancelling → cancelled). */
  private async advance(batch: BatchObject): Promise<void> {
    if (batch.status === "finalizing" || batch.status === "cancelling") return this.finish(batch);
    const lines = this.inputLines(batch);
    if (!lines) return;
    if (batch.status === "validating") {
      const started = this.update(batch.id, (current) =>
        current.status === "validating"
          ? { ...current, status: "in_progress", in_progress_at: seconds(Date.now()), request_counts: { total: lines.length, completed: 0, failed: 0 } }
          : undefined,
      );
      if (started?.status !== "in_progress") return;
    }
    const recorded = this.deps.batches.recordedLines(batch.id);
    for (let index = 0; index < lines.length; index++) {
      if (recorded.has(index)) continue;
      if (this.stopped || this.deps.batches.get(batch.id)?.status !== "in_progress") return;
      const response = await this.runLine(lines[index]!);
      if (!response) return;
      const failed = response.statusCode >= 400;
      const result: BatchLineResult = {
        index,
        failed,
        result: {
          id: `batch_req_${randomUUID().replace(/-/g, "")}`,
          custom_id: lines[index]!.custom_id,
          response: { status_code: response.statusCode, request_id: randomUUID(), body: response.body },
          error: null,
        },
      };
      this.deps.batches.recordResult(batch.id, result);
      for (const listener of this.lineListeners) listener(failed);
      const updated = this.deps.batches.get(batch.id);
      if (updated) this.changed(updated);
    }
    this.update(batch.id, (current) => (current.status === "in_progress" ? { ...current, status: "finalizing", finalizing_at: seconds(Date.now()) } : undefined));
  }

  /** The batch's input lines, or undefined after failing the batch (file gone, invalid, wrong endpoint). */
  private inputLines(batch: BatchObject): BatchInputLine[] | undefined {
    const content = this.deps.files.content(batch.input_file_id);
    if (!content) {
      this.fail(batch.id, "file_not_found", `The input file '${batch.input_file_id}' was deleted`, null);
      return undefined;
    }
    try {
      const lines = parseBatchInput(content.toString("utf8"));
      const wrong = lines.findIndex((line) => line.url !== batch.endpoint);
      if (wrong >= 0) {
        this.fail(batch.id, "mismatched_endpoint", `The line's url '${lines[wrong]!.url}' is not the batch's endpoint '${batch.endpoint}'`, wrong + 1);
        return undefined;
      }
      return lines;
    } catch (error) {
      if (!(error instanceof BatchInputError)) throw error;
      this.fail(batch.id, error.code, error.message, error.line);
      return undefined;
    }
  }

  /** Runs a line, again after a pause while the model's queue is full; undefined when the runner stopped. */
  private async runLine(line: BatchInputLine): Promise<BatchLineResponse | undefined> {
    for (;;) {
      let response: BatchLineResponse;
      try {
        response = await this.deps.execute(line, this.controller.signal);
      } catch (error) {
        if (this.stopped) return undefined;
        throw error;
      }
      if (this.stopped) return undefined;
      if (response.retryAfterSeconds === undefined) return response;
      try {
        await sleep(Math.min(this.maxRetryDelayMs, response.retryAfterSeconds * 1000), undefined, { signal: this.controller.signal });
      } catch {
        return undefined;
      }
    }
  }

  /** Writes the output and error files of the recorded results and ends the batch. */
  private finish(batch: BatchObject): void {
    const results = this.deps.batches.results(batch.id);
    const ids = batchFileIds(batch.id);
    // The results belong to whoever made the batch.
    const ownerKeyId = this.deps.batches.ownerOf(batch.id) ?? undefined;
    const write = (id: string, lines: BatchLineResult[]): string | null => {
      this.deps.files.remove(id);
      if (lines.length === 0) return null;
      const content = Buffer.from(lines.map((line) => JSON.stringify(line.result)).join("\n") + "\n", "utf8");
      return this.deps.files.save({ id, filename: `${batch.id}_${id.endsWith("errors") ? "error" : "output"}.jsonl`, purpose: "batch_output", content, ...(ownerKeyId !== undefined ? { ownerKeyId } : {}) }).id;
    };
    const outputFileId = write(ids.output, results.filter((line) => !line.failed));
    const errorFileId = write(ids.errors, results.filter((line) => line.failed));
    const now = seconds(Date.now());
    this.update(batch.id, (current) =>
      current.status === "finalizing"
        ? { ...current, status: "completed", completed_at: now, output_file_id: outputFileId, error_file_id: errorFileId }
        : current.status === "cancelling"
          ? { ...current, status: "cancelled", cancelled_at: now, output_file_id: outputFileId, error_file_id: errorFileId }
          : undefined,
    );
  }

  private fail(id: string, code: string, message: string, line: number | null): void {
    this.update(id, (current) => ({
      ...current,
      status: "failed",
      failed_at: seconds(Date.now()),
      errors: { object: "list", data: [{ code, message, line, param: null }] },
    }));
  }

  private update(id: string, change: (batch: BatchObject) => BatchObject | undefined): BatchObject | undefined {
    const batch = this.deps.batches.update(id, change);
    if (batch) this.changed(batch);
    return batch;
  }
}
