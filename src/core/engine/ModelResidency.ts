import { EventEmitter } from "node:events";
import type {
  LoadedModelState,
  MemoryEstimate,
  ResidencyEvent,
  UnloadReason,
} from "../../shared/api/library.js";
import { MardukError, ModelLoadFailedError } from "../errors.js";
import type { Logger } from "../logger.js";
import { formatBytes } from "../models/library/formatBytes.js";
import { createSystemMemoryProbe, type MemoryProbe, type MemorySnapshot } from "../models/library/memoryProbe.js";
import type { ModelLoadOptions } from "./Engine.js";
import type { LocalModel } from "./LocalModel.js";

export type { MemoryProbe, MemorySnapshot };

/** Options of one {@link ModelResidency.acquire}. */
export interface AcquireModelOptions {
  /**
   * How long the model stays loaded after this use, in ms (Ollama's `keep_alive`);
   * 0 unloads it as soon as it is idle, a negative value keeps it loaded until unloaded by hand
   * (or evicted to make room). Default: the model's own TTL.
   */
  keepAliveMs?: number;
  /** Load options used when the model has to be loaded. */
  load?: ModelLoadOptions;
}

/** A model held in memory for one request; release it when the request ends. */
export interface ModelLease<M = LocalModel> {
  readonly model: M;
  /** Ends the lease (idempotent); the model's idle TTL starts when its last lease ends. */
  release(): void;
}

/** What a resident model must offer: its id, and news of its crash when it can crash alone. */
export interface ResidentModel {
  readonly id: string;
  /** See {@link LocalModel.onCrashed}: the residency forgets a crashed model at once. */
  onCrashed?(listener: (error: MardukError) => void): () => void;
}

/**
 * What residency needs from the engine; {@link Engine} implements it (models in this process),
 * and so does {@link ModelHostLoader} (each model in a host process of its own). Injected so that TTL,
 * LRU and budget logic are tested without a model.
 */
export interface ResidencyLoader<M extends ResidentModel> {
  /** The canonical id of a model id ("x.gguf" -> "x"); paths are not ids. Synchronous. @throws ModelNotFoundError, InvalidArgumentError */
  resolveModel(ref: string): { id: string };
  /** The id of a `.gguf` file given explicitly by the operator. @throws InvalidArgumentError */
  resolveFile(filePath: string): { id: string };
  /** Loads a model; the residency owns what it returns. */
  loadModel(ref: string, options?: ModelLoadOptions): Promise<M>;
  /** Frees a model the residency loaded. */
  unloadModel(model: M): Promise<void>;
  /** Estimated memory of a load, before loading. */
  estimateMemory(ref: string, options?: ModelLoadOptions): Promise<MemoryEstimate>;
  /** Says that a load that was estimated will not follow (it does not fit), so what the estimate prepared can go. Optional. */
  abandonLoad?(ref: string): void;
}

/** Timers, injected so TTL logic is tested with a fake clock. */
export interface ResidencyClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time; its timers never keep the process alive. */
export const systemClock: ResidencyClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, Math.min(ms, 2 ** 31 - 1)).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Options of {@link ModelResidency}. */
export interface ModelResidencyOptions {
  /** Idle time after which a model unloads, in ms; 0: as soon as idle; negative: never. Default: 15 minutes. */
  keepAliveMs?: number;
  /** Idle TTL per model id, overriding `keepAliveMs`. Default: none. */
  keepAliveByModel?: Readonly<Record<string, number>>;
  /**
   * Most memory (RAM plus VRAM, by estimate) that loaded models may take together; least
   * recently used idle models are unloaded to stay within it. Default: no fixed budget, only
   * the machine's free memory (see `ramHeadroomBytes`).
   */
  memoryBudgetBytes?: number;
  /** RAM left free for the system and the app when deciding whether a model fits. Default: 512 MiB. */
  ramHeadroomBytes?: number;
  /** Reads free RAM and VRAM. Default: the OS's free RAM, VRAM unknown. */
  memoryProbe?: MemoryProbe;
  /** Default: {@link systemClock}. */
  clock?: ResidencyClock;
  /** Default: no logging. */
  logger?: Logger;
}

/** Events of {@link ModelResidency}. */
export interface ModelResidencyEvents {
  /** A model started loading, loaded, failed to load or unloaded. */
  event: [event: ResidencyEvent];
  /** The resident models changed (state, leases, TTL); carries {@link ModelResidency.list}. */
  changed: [models: LoadedModelState[]];
}

export const DEFAULT_KEEP_ALIVE_MS = 15 * 60_000;
export const DEFAULT_RAM_HEADROOM_BYTES = 512 * 1024 * 1024;

interface Entry<M> {
  readonly id: string;
  /** What the loader is given (a path for a model outside the models dir). */
  readonly ref: string;
  state: "loading" | "loaded" | "unloading";
  model?: M;
  ready: Promise<M>;
  unloaded?: Promise<void>;
  leases: number;
  loadedAt?: number;
  lastUsedAt: number;
  /** Order of last use (ties of `lastUsedAt` within one millisecond are common). */
  useOrder: number;
  /** Idle TTL of the current or next idle period. */
  keepAliveMs: number;
  /** Set by {@link ModelResidency.unload} on a model in use: unload when the last lease ends. */
  unloadWhenIdle: boolean;
  timer?: unknown;
  expiresAt?: number;
  memory: MemoryEstimate;
  /** Stops listening for the model's crash. */
  stopWatching?: () => void;
}

/**
 * The one registry of loaded models. Keeps models in memory while they are used and within a
 * memory budget:
 * - an API request naming a model that is not loaded loads it just in time, and concurrent
 *   requests for one model share one load;
 * - each request holds a lease, and a leased model is never unloaded;
 * - an idle model unloads after its TTL (per model, per request as Ollama's `keep_alive`);
 * - before a load, the model's memory is estimated; when it would not fit (the budget, or the
 *   machine's free RAM/VRAM), least recently used idle models are unloaded first, and a model
 *   that cannot fit fails with a ModelLoadFailedError that says so;
 * - a model whose host process crashes is forgotten at once (event `unloaded`, reason
 *   "crashed"): its memory is free, and the next request loads it again.
 */
export class ModelResidency<M extends ResidentModel = LocalModel> extends EventEmitter<ModelResidencyEvents> {
  private readonly entries = new Map<string, Entry<M>>();
  /** Ids of models loaded from a path outside the models dir, mapped to that path, so they can be reloaded. */
  private readonly refs = new Map<string, string>();
  private readonly keepAliveByModel = new Map<string, number>();
  private readonly clock: ResidencyClock;
  private readonly probe: MemoryProbe;
  private admissionQueue: Promise<void> = Promise.resolve();
  private uses = 0;
  private disposed = false;

  constructor(
    private readonly loader: ResidencyLoader<M>,
    private readonly options: ModelResidencyOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.probe = options.memoryProbe ?? createSystemMemoryProbe();
    for (const [id, ms] of Object.entries(options.keepAliveByModel ?? {})) this.keepAliveByModel.set(id, ms);
    const budget = options.memoryBudgetBytes;
    if (budget !== undefined && !(budget > 0)) throw new MardukError("invalid_argument", "memoryBudgetBytes must be positive");
  }

  /** The fixed memory budget, if one is set. */
  get memoryBudgetBytes(): number | undefined {
    return this.options.memoryBudgetBytes;
  }

  /**
   * Returns the loaded model under a lease, loading it first when needed.
   * @throws ModelNotFoundError, InvalidArgumentError, ModelLoadFailedError (bad file, not enough memory)
   */
  async acquire(modelRef: string, options: AcquireModelOptions = {}): Promise<ModelLease<M>> {
    this.assertOpen();
    // Requests name ids; a file from elsewhere is only known once registered (registerFile).
    const id = this.entries.has(modelRef) || this.refs.has(modelRef) ? modelRef : this.loader.resolveModel(modelRef).id;

    for (;;) {
      const entry = this.entries.get(id);
      if (!entry) break;
      if (entry.state === "unloading") {
        await entry.unloaded;
        continue;
      }
      return this.waitAndLease(entry, options);
    }

    const now = this.clock.now();
    let settle!: { resolve: (model: M) => void; reject: (error: unknown) => void };
    const ready = new Promise<M>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    const entry: Entry<M> = {
      id,
      ref: this.refs.get(id) ?? modelRef,
      state: "loading",
      ready,
      leases: 0,
      lastUsedAt: now,
      useOrder: ++this.uses,
      keepAliveMs: this.modelKeepAlive(id),
      unloadWhenIdle: false,
      memory: { ramBytes: 0, vramBytes: 0 },
    };
    this.entries.set(id, entry);
    // Lease first, so the entry counts this request from its first event on.
    const lease = this.waitAndLease(entry, options);
    this.loadEntry(entry, options.load).then(settle.resolve, settle.reject);
    return lease;
  }

  /**
   * Makes a `.gguf` file from anywhere on the machine loadable under its id (an explicit
   * import by the operator: `serve --model /path/x.gguf`). Returns that id.
   * @throws InvalidArgumentError when it is not an existing `.gguf` file
   */
  registerFile(filePath: string): string {
    const { id } = this.loader.resolveFile(filePath);
    this.refs.set(id, filePath);
    return id;
  }

  /** Loads a model (if needed) and leaves it idle, so its TTL applies: a preload. */
  async load(modelRef: string, options: AcquireModelOptions = {}): Promise<M> {
    const lease = await this.acquire(modelRef, options);
    lease.release();
    return lease.model;
  }

  /**
   * Unloads a model now when it is idle, or as soon as its last lease ends.
   * @returns true when it was unloaded now, false when it is in use (unloads later) or not loaded.
   */
  async unload(id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || entry.state === "unloading") return false;
    if (entry.leases > 0 || entry.state === "loading") {
      entry.unloadWhenIdle = true;
      return false;
    }
    await this.unloadEntry(entry, "manual");
    return true;
  }

  /** Sets a model's idle TTL (undefined: back to the default); applies from its next idle period. */
  setKeepAlive(id: string, keepAliveMs: number | undefined): void {
    if (keepAliveMs === undefined) this.keepAliveByModel.delete(id);
    else this.keepAliveByModel.set(id, keepAliveMs);
  }

  /** The models in memory or loading, most recently used first. */
  list(): LoadedModelState[] {
    return [...this.entries.values()]
      .sort((a, b) => b.useOrder - a.useOrder)
      .map((entry) => ({
        id: entry.id,
        state: entry.state,
        ...(entry.loadedAt !== undefined ? { loadedAt: entry.loadedAt } : {}),
        lastUsedAt: entry.lastUsedAt,
        activeRequests: entry.leases,
        keepAliveMs: entry.keepAliveMs,
        ...(entry.expiresAt !== undefined ? { expiresAt: entry.expiresAt } : {}),
        memory: { ...entry.memory },
      }));
  }

  /** A loaded model (not one still loading or unloading), without leasing it. */
  get(ref: string): M | undefined {
    const entry = this.entries.get(ref) ?? this.entries.get(ref.replace(/\.gguf$/i, ""));
    return entry?.state === "loaded" ? entry.model : undefined;
  }

  /** Every loaded model, most recently used first. */
  loadedModels(): M[] {
    return [...this.entries.values()]
      .filter((entry) => entry.state === "loaded" && entry.model !== undefined)
      .sort((a, b) => b.useOrder - a.useOrder)
      .map((entry) => entry.model!);
  }

  /** Estimated memory of every model in memory or loading. */
  get usedMemory(): MemoryEstimate {
    let ramBytes = 0;
    let vramBytes = 0;
    for (const entry of this.entries.values()) {
      ramBytes += entry.memory.ramBytes;
      vramBytes += entry.memory.vramBytes;
    }
    return { ramBytes, vramBytes };
  }

  /** Refuses new leases, stops the TTL timers, and unloads every model (running generations end with "abort"). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const entry of this.entries.values()) this.cancelTimer(entry);
    await Promise.allSettled([...this.entries.values()].map((entry) => entry.ready));
    await Promise.allSettled([...this.entries.values()].map((entry) => (entry.state === "loaded" ? this.unloadEntry(entry, "shutdown") : entry.unloaded)));
    this.removeAllListeners();
  }

  private assertOpen(): void {
    if (this.disposed) throw new MardukError("internal_error", "The server is shutting down");
  }

  private modelKeepAlive(id: string): number {
    return this.keepAliveByModel.get(id) ?? this.options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  }

  private async waitAndLease(entry: Entry<M>, options: AcquireModelOptions): Promise<ModelLease<M>> {
    entry.leases++;
    this.cancelTimer(entry);
    let model: M;
    try {
      model = await entry.ready;
    } catch (error) {
      entry.leases--;
      throw error;
    }
    entry.lastUsedAt = this.clock.now();
    entry.useOrder = ++this.uses;
    this.emitChanged();
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        entry.lastUsedAt = this.clock.now();
        entry.useOrder = ++this.uses;
        entry.keepAliveMs = options.keepAliveMs ?? this.modelKeepAlive(entry.id);
        if (entry.leases === 0) this.becameIdle(entry);
        this.emitChanged();
      },
    };
  }

  private async loadEntry(entry: Entry<M>, loadOptions: ModelLoadOptions | undefined): Promise<M> {
    this.emitEvent({ type: "loading", id: entry.id });
    try {
      await this.admit(entry, loadOptions);
      const model = await this.loader.loadModel(entry.ref, loadOptions);
      if (this.disposed) {
        // Shut down while it loaded: nobody will use it.
        await this.loader.unloadModel(model).catch(() => undefined);
        throw new MardukError("internal_error", "The server is shutting down");
      }
      entry.model = model;
      entry.state = "loaded";
      entry.stopWatching = model.onCrashed?.((crash) => this.crashed(entry, crash));
      entry.loadedAt = entry.lastUsedAt = this.clock.now();
      entry.useOrder = ++this.uses;
      this.emitEvent({ type: "loaded", id: entry.id, memory: { ...entry.memory } });
      if (entry.leases === 0) this.becameIdle(entry);
      return model;
    } catch (error) {
      this.forget(entry);
      const failure = error instanceof MardukError ? error : new ModelLoadFailedError(entry.id, (error as Error).message, error);
      this.options.logger?.warn({ model: entry.id, err: failure }, "model load failed");
      this.emitEvent({ type: "load_failed", id: entry.id, message: failure.message });
      throw failure;
    }
  }

  /**
   * Makes room for a model: estimates its memory, then unloads least recently used idle models
   * until it fits. One admission at a time, so two loads never count on the same free memory.
   * @throws ModelLoadFailedError when it cannot fit
   */
  private async admit(entry: Entry<M>, loadOptions: ModelLoadOptions | undefined): Promise<void> {
    const previous = this.admissionQueue;
    let done!: () => void;
    this.admissionQueue = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      const need = await this.loader.estimateMemory(entry.ref, loadOptions);
      entry.memory = need;
      for (;;) {
        const problem = this.findMemoryProblem(entry, need, await this.probe());
        if (problem === undefined) return;
        const victim = this.leastRecentlyUsedIdle(entry);
        if (!victim) {
          const busy = [...this.entries.values()].filter((other) => other !== entry);
          const detail = busy.length > 0 ? ` (in use: ${busy.map((other) => other.id).join(", ")})` : "";
          this.loader.abandonLoad?.(entry.ref);
          throw new ModelLoadFailedError(entry.id, `not enough memory: ${problem}${detail}`);
        }
        this.options.logger?.info({ model: victim.id, for: entry.id }, "unloading the least recently used model to make room");
        await this.unloadEntry(victim, "evicted");
      }
    } finally {
      done();
    }
  }

  /** Why `need` does not fit now, or undefined when it fits. */
  private findMemoryProblem(entry: Entry<M>, need: MemoryEstimate, snapshot: MemorySnapshot): string | undefined {
    const others = [...this.entries.values()].filter((other) => other !== entry);
    const needTotal = need.ramBytes + need.vramBytes;
    const budget = this.options.memoryBudgetBytes;
    if (budget !== undefined) {
      const used = others.reduce((sum, other) => sum + other.memory.ramBytes + other.memory.vramBytes, 0);
      if (used + needTotal > budget) {
        const held = used > 0 ? `, ${formatBytes(used)} of it held by other models` : "";
        return `needs ${formatBytes(needTotal)}, budget ${formatBytes(budget)}${held}`;
      }
    }
    // Models still loading have not taken their memory yet: count what they reserved.
    const reserved = others.filter((other) => other.state === "loading");
    const reservedRam = reserved.reduce((sum, other) => sum + other.memory.ramBytes, 0);
    const reservedVram = reserved.reduce((sum, other) => sum + other.memory.vramBytes, 0);
    const freeRam = snapshot.freeRamBytes - reservedRam - (this.options.ramHeadroomBytes ?? DEFAULT_RAM_HEADROOM_BYTES);
    if (need.ramBytes > freeRam) return `needs ${formatBytes(need.ramBytes)} of RAM, only ${formatBytes(Math.max(0, freeRam))} free`;
    const freeVram = snapshot.freeVramBytes - reservedVram;
    if (need.vramBytes > 0 && need.vramBytes > freeVram) {
      return `needs ${formatBytes(need.vramBytes)} of VRAM, only ${formatBytes(Math.max(0, freeVram))} free`;
    }
    return undefined;
  }

  private leastRecentlyUsedIdle(except: Entry<M>): Entry<M> | undefined {
    let oldest: Entry<M> | undefined;
    for (const entry of this.entries.values()) {
      if (entry === except || entry.state !== "loaded" || entry.leases > 0) continue;
      if (!oldest || entry.useOrder < oldest.useOrder) oldest = entry;
    }
    return oldest;
  }

  private becameIdle(entry: Entry<M>): void {
    this.cancelTimer(entry);
    if (entry.state !== "loaded" || this.disposed) return;
    const keepAliveMs = entry.unloadWhenIdle ? 0 : entry.keepAliveMs;
    if (keepAliveMs < 0) return;
    if (keepAliveMs === 0) {
      void this.unloadEntry(entry, entry.unloadWhenIdle ? "manual" : "idle");
      return;
    }
    entry.expiresAt = this.clock.now() + keepAliveMs;
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      if (entry.leases === 0 && entry.state === "loaded") void this.unloadEntry(entry, "idle");
    }, keepAliveMs);
  }

  private cancelTimer(entry: Entry<M>): void {
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.expiresAt = undefined;
  }

  private crashed(entry: Entry<M>, error: MardukError): void {
    this.options.logger?.warn({ model: entry.id, err: error.message }, "model crashed");
    void this.unloadEntry(entry, "crashed");
  }

  private unloadEntry(entry: Entry<M>, reason: UnloadReason): Promise<void> {
    if (entry.unloaded) return entry.unloaded;
    entry.stopWatching?.();
    entry.stopWatching = undefined;
    entry.state = "unloading";
    this.cancelTimer(entry);
    this.emitChanged();
    entry.unloaded = (async () => {
      try {
        if (entry.model) await this.loader.unloadModel(entry.model);
      } catch (error) {
        this.options.logger?.error({ model: entry.id, err: error }, "model unload failed");
      } finally {
        this.forget(entry);
        this.options.logger?.info({ model: entry.id, reason }, "model unloaded by residency");
        this.emitEvent({ type: "unloaded", id: entry.id, reason });
      }
    })();
    return entry.unloaded;
  }

  private forget(entry: Entry<M>): void {
    this.cancelTimer(entry);
    if (this.entries.get(entry.id) === entry) this.entries.delete(entry.id);
    this.emitChanged();
  }

  private emitEvent(event: ResidencyEvent): void {
    this.emit("event", event);
    this.emitChanged();
  }

  private emitChanged(): void {
    if (this.listenerCount("changed") > 0) this.emit("changed", this.list());
  }
}
