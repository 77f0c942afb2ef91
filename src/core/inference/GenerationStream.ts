import type { GenerationDelta, GenerationResult } from "../../shared/api/generation.js";

/**
 * The output of one generation: iterate it for deltas as they are produced, then read
 * `result` for the final text, finish reason, usage and timings.
 * When the generation fails, iteration throws and `result` rejects with the same error.
 */
export class GenerationStream<Result extends GenerationResult = GenerationResult> implements AsyncIterable<GenerationDelta> {
  private readonly buffered: GenerationDelta[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private failure: unknown;
  private resolveResult!: (result: Result) => void;
  private rejectResult!: (error: unknown) => void;
  private resolveStarted!: () => void;
  private rejectStarted!: (error: unknown) => void;
  private resolveFirstOutput!: () => void;
  private rejectFirstOutput!: (error: unknown) => void;
  /** Settles once the generation has ended. */
  readonly result: Promise<Result>;
  /**
   * Resolves when the generation has a sequence and starts evaluating; rejects when it fails
   * before that (full queue, bad grammar, ...). HTTP adapters wait for it before committing
   * to a streaming response, so such failures still get a proper status code.
   */
  readonly started: Promise<void>;
  /**
   * Resolves with the first delta (or the end, for an empty answer); rejects when the
   * generation fails before producing anything. The router fails over until then.
   */
  readonly firstOutput: Promise<void>;

  constructor() {
    this.result = new Promise<Result>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    this.started = new Promise<void>((resolve, reject) => {
      this.resolveStarted = resolve;
      this.rejectStarted = reject;
    });
    this.firstOutput = new Promise<void>((resolve, reject) => {
      this.resolveFirstOutput = resolve;
      this.rejectFirstOutput = reject;
    });
    // A caller that only iterates must not get an unhandled rejection; iteration rethrows.
    this.result.catch(() => undefined);
    this.started.catch(() => undefined);
    this.firstOutput.catch(() => undefined);
  }

  /** @internal Producer side. */
  markStarted(): void {
    this.resolveStarted();
  }

  /** @internal Producer side. */
  push(delta: GenerationDelta): void {
    if (this.finished) return;
    this.buffered.push(delta);
    this.resolveFirstOutput();
    this.signal();
  }

  /** @internal Producer side. */
  end(result: Result): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveStarted();
    this.resolveFirstOutput();
    this.resolveResult(result);
    this.signal();
  }

  /** @internal Producer side. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.rejectStarted(error);
    this.rejectFirstOutput(error);
    this.rejectResult(error);
    this.signal();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<GenerationDelta> {
    for (;;) {
      const next = this.buffered.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.finished) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Reads the whole stream and returns the final result. */
  async collect(): Promise<Result> {
    for await (const _ of this) {
      // Deltas are already part of the final text.
    }
    return this.result;
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
