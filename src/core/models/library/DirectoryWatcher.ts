import { watch, type FSWatcher } from "node:fs";

/** How a {@link DirectoryWatcher} notices changes. */
export type WatchMode = "native" | "poll";

/** Options of {@link DirectoryWatcher}. */
export interface DirectoryWatcherOptions {
  /**
   * "native": `fs.watch` recursive (falls back to polling where unsupported or when it fails);
   * "poll": call back every `pollIntervalMs`. Default: "native".
   */
  mode?: WatchMode;
  /** Quiet time after the last file event before calling back, in ms. Default: 300. */
  debounceMs?: number;
  /** Interval of polling, in ms. Default: 2000. */
  pollIntervalMs?: number;
}

export const DEFAULT_WATCH_DEBOUNCE_MS = 300;
export const DEFAULT_POLL_INTERVAL_MS = 2000;

/**
 * Calls back when something below a directory may have changed: once per burst of file system
 * events (debounced), or on every poll. The callback decides what actually changed, so a
 * spurious call is harmless. Never keeps the process alive.
 */
export class DirectoryWatcher {
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private currentMode: WatchMode;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;

  constructor(
    readonly dir: string,
    private readonly onChange: () => void,
    options: DirectoryWatcherOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? DEFAULT_WATCH_DEBOUNCE_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.currentMode = options.mode ?? "native";
    if (this.currentMode === "native") this.startNative();
    else this.startPolling();
  }

  /** The mode in use (native watching may have fallen back to polling). */
  get mode(): WatchMode {
    return this.currentMode;
  }

  private startNative(): void {
    try {
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.schedule());
      this.watcher.on("error", () => this.fallBackToPolling());
    } catch {
      this.fallBackToPolling();
    }
  }

  private fallBackToPolling(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.disposed || this.pollTimer) return;
    this.startPolling();
    this.schedule();
  }

  private startPolling(): void {
    this.currentMode = "poll";
    this.pollTimer = setInterval(() => this.onChange(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private schedule(): void {
    if (this.disposed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      if (!this.disposed) this.onChange();
    }, this.debounceMs);
    this.debounceTimer.unref();
  }

  dispose(): void {
    this.disposed = true;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.pollTimer = this.debounceTimer = undefined;
  }
}
