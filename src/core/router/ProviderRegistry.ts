import { EventEmitter } from "node:events";
import type { Logger } from "../logger.js";
import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from "./CircuitBreaker.js";
import type { Provider, ProviderModel } from "./Provider.js";

/** One provider as the registry tracks it. */
export interface ProviderStatus {
  id: string;
  kind: "local" | "remote";
  /** Where its models came from: the config file, the app (UI), or the command line. */
  source: ProviderSource;
  healthy: boolean;
  circuit: CircuitState;
  consecutiveFailures: number;
  /** Requests running on it now. */
  outstanding: number;
  models: string[];
  lastError?: string;
  /** When it was last checked (ms since the epoch). */
  checkedAt?: number;
}

export type ProviderSource = "local" | "config" | "cli" | "app";

/** Options of {@link ProviderRegistry}. */
export interface ProviderRegistryOptions {
  /** Time between background health checks (and model discovery) of remotes, in ms; 0: none. Default: 30000. */
  healthIntervalMs?: number;
  /** Breakers of every provider. Default: see CircuitBreakerOptions. */
  breaker?: CircuitBreakerOptions;
  logger?: Logger;
}

export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

interface Entry {
  provider: Provider;
  source: ProviderSource;
  breaker: CircuitBreaker;
  outstanding: number;
  models: ProviderModel[];
  /** Set once models were listed (or listing was tried and failed). */
  discovered: boolean;
  discovering?: Promise<void>;
  lastError?: string;
  checkedAt?: number;
}

/**
 * The providers requests can go to: this machine and the remotes, each with its circuit
 * breaker, its running requests and its models (discovered in the background, and on the
 * first request that needs them). Emits `changed` when a provider is added, removed, or
 * changes health.
 */
export class ProviderRegistry extends EventEmitter<{ changed: [] }> {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly options: ProviderRegistryOptions = {}) {
    super();
    const interval = options.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    if (interval > 0) {
      this.timer = setInterval(() => void this.checkAll(), interval);
      this.timer.unref();
    }
  }

  /** Adds a provider, or replaces the one with its id (its breaker starts closed). */
  set(provider: Provider, source: ProviderSource): void {
    const existing = this.entries.get(provider.id);
    if (existing && existing.provider !== provider) existing.provider.dispose();
    this.entries.set(provider.id, {
      provider,
      source,
      breaker: new CircuitBreaker(this.options.breaker),
      outstanding: existing?.outstanding ?? 0,
      models: [],
      discovered: false,
    });
    this.emit("changed");
    if (provider.kind === "remote") void this.refresh(provider.id);
  }

  remove(id: string): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    entry.provider.dispose();
    this.emit("changed");
    return true;
  }

  get(id: string): Provider | undefined {
    return this.entries.get(id)?.provider;
  }

  list(): Provider[] {
    return [...this.entries.values()].map((entry) => entry.provider);
  }

  breaker(id: string): CircuitBreaker | undefined {
    return this.entries.get(id)?.breaker;
  }

  /** Counts a request that starts (+1) or ends (-1) on a provider. */
  track(id: string, delta: 1 | -1): void {
    const entry = this.entries.get(id);
    if (entry) entry.outstanding = Math.max(0, entry.outstanding + delta);
  }

  outstanding(id: string): number {
    return this.entries.get(id)?.outstanding ?? 0;
  }

  /** The remote's models as last discovered; the first call waits for discovery. */
  async modelsOf(id: string): Promise<ProviderModel[]> {
    const entry = this.entries.get(id);
    if (!entry) return [];
    if (entry.provider.kind === "local") return entry.provider.listModels();
    if (!entry.discovered) await (entry.discovering ?? this.refresh(id));
    return entry.models;
  }

  /** Each remote serving `modelId` (as discovered or configured). */
  async remotesServing(modelId: string): Promise<Provider[]> {
    const remotes = [...this.entries.values()].filter((entry) => entry.provider.kind === "remote");
    const serving = await Promise.all(remotes.map(async (entry) => ((await this.modelsOf(entry.provider.id)).some((model) => model.id === modelId) ? entry.provider : undefined)));
    return serving.filter((provider): provider is Provider => provider !== undefined);
  }

  status(): ProviderStatus[] {
    return [...this.entries.values()].map((entry) => ({
      id: entry.provider.id,
      kind: entry.provider.kind,
      source: entry.source,
      healthy: entry.provider.kind === "local" || (entry.discovered && entry.lastError === undefined && entry.breaker.state === "closed"),
      circuit: entry.breaker.state,
      consecutiveFailures: entry.breaker.consecutiveFailures,
      outstanding: entry.outstanding,
      models: entry.models.map((model) => model.id),
      ...(entry.lastError !== undefined ? { lastError: entry.lastError } : {}),
      ...(entry.checkedAt !== undefined ? { checkedAt: entry.checkedAt } : {}),
    }));
  }

  /**
   * Checks a remote now: lists its models (the health probe), closes its breaker when it
   * answers, counts a failure when it does not.
   */
  refresh(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry || entry.provider.kind === "local") return Promise.resolve();
    entry.discovering ??= (async () => {
      try {
        const models = await entry.provider.listModels();
        if (this.entries.get(id) !== entry) return;
        entry.models = models;
        entry.discovered = true;
        entry.lastError = undefined;
        entry.breaker.recordSuccess();
      } catch (error) {
        if (this.entries.get(id) !== entry) return;
        entry.lastError = (error as Error).message;
        entry.breaker.recordFailure();
        // Models listed before stay known: a remote that is down for a moment keeps its routes.
        // Requests no longer wait for it; the background checks try again.
        entry.discovered = true;
        this.options.logger?.warn({ provider: id, err: error }, "provider health check failed");
      } finally {
        entry.checkedAt = Date.now();
        entry.discovering = undefined;
        if (!this.disposed) this.emit("changed");
      }
    })();
    return entry.discovering;
  }

  /** Checks every remote (the background loop). */
  async checkAll(): Promise<void> {
    await Promise.allSettled([...this.entries.keys()].map((id) => this.refresh(id)));
  }

  /** A failure or success seen by a request changed a breaker: tell the watchers. */
  notifyChanged(): void {
    if (!this.disposed) this.emit("changed");
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearInterval(this.timer);
    for (const entry of this.entries.values()) entry.provider.dispose();
    this.entries.clear();
    this.removeAllListeners();
  }
}
