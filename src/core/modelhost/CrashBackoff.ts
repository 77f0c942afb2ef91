/** Options of {@link CrashBackoff}. */
export interface CrashBackoffOptions {
  /** Wait before loading a model again after its second crash in a row, in ms; it doubles with each further crash. Default: 1000. */
  initialDelayMs?: number;
  /** Longest wait, in ms. Default: 60000. */
  maxDelayMs?: number;
  /** A model that has not crashed for this long starts over (its next crash is reloaded at once). Default: 10 minutes. */
  forgetAfterMs?: number;
  /** Current time in ms. Default: `Date.now`. */
  now?: () => number;
}

/** When a model host crashed: while it loaded the model, or while it served it. */
export type CrashPhase = "load" | "run";

/** A model that may not be loaded yet. */
export interface CrashBackoffHold {
  /** Crashes in a row. */
  crashes: number;
  /** ms until a load may start. */
  retryInMs: number;
  /** Whether the last crash happened during a load or while serving. */
  phase: CrashPhase;
  /** The last crash's reason (the host's last words). */
  reason: string;
}

interface CrashHistory {
  crashes: number;
  lastCrashAt: number;
  phase: CrashPhase;
  reason: string;
}

export const DEFAULT_CRASH_BACKOFF_INITIAL_MS = 1000;
export const DEFAULT_CRASH_BACKOFF_MAX_MS = 60_000;
export const DEFAULT_CRASH_BACKOFF_FORGET_MS = 10 * 60_000;

/**
 * Keeps a crash loop from spinning: per model, counts crashes in a row and says how long to wait
 * before the next load. One crash is an accident (the model is reloaded at once); from the second
 * one on, loads wait 1 s, then 2 s, 4 s, ... up to 60 s (by default). A model that runs for
 * `forgetAfterMs` without crashing starts over.
 */
export class CrashBackoff {
  private readonly history = new Map<string, CrashHistory>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly now: () => number;

  constructor(options: CrashBackoffOptions = {}) {
    this.initialDelayMs = options.initialDelayMs ?? DEFAULT_CRASH_BACKOFF_INITIAL_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_CRASH_BACKOFF_MAX_MS;
    this.forgetAfterMs = options.forgetAfterMs ?? DEFAULT_CRASH_BACKOFF_FORGET_MS;
    this.now = options.now ?? Date.now;
  }

  /** Counts a crash of a model's host. */
  recordCrash(modelId: string, phase: CrashPhase, reason: string): void {
    const now = this.now();
    const previous = this.current(modelId, now);
    this.history.set(modelId, { crashes: (previous?.crashes ?? 0) + 1, lastCrashAt: now, phase, reason });
  }

  /** Undefined when the model may be loaded now; otherwise how long it must wait, and why. */
  hold(modelId: string): CrashBackoffHold | undefined {
    const now = this.now();
    const history = this.current(modelId, now);
    if (!history) return undefined;
    const retryInMs = history.lastCrashAt + this.delayAfter(history.crashes) - now;
    if (retryInMs <= 0) return undefined;
    return { crashes: history.crashes, retryInMs, phase: history.phase, reason: history.reason };
  }

  /** Crashes in a row of a model (0 when it has none to remember). */
  crashesOf(modelId: string): number {
    return this.current(modelId, this.now())?.crashes ?? 0;
  }

  /** The wait after `crashes` crashes in a row. */
  delayAfter(crashes: number): number {
    if (crashes < 2) return 0;
    return Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(crashes - 2, 30));
  }

  private current(modelId: string, now: number): CrashHistory | undefined {
    const history = this.history.get(modelId);
    if (history && now - history.lastCrashAt >= this.forgetAfterMs + this.delayAfter(history.crashes)) {
      this.history.delete(modelId);
      return undefined;
    }
    return history;
  }
}
