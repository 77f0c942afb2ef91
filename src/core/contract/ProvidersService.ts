import { EventEmitter } from "node:events";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type {
  ProviderHealth,
  ProviderInfo,
  ProvidersApi,
  ProviderTestResult,
  SaveProviderRequest,
  TestProviderRequest,
  UsageSummary,
} from "../../shared/contract/providers.js";
import type { ProviderRegistry, ProviderStatus } from "../router/ProviderRegistry.js";
import type { RemoteProviderInfo, RemoteProviders } from "../router/RemoteProviders.js";
import type { UsageLedger } from "../router/UsageLedger.js";
import { parseRequest, providerIdRequest, saveProviderRequest, usageRequest } from "./requestSchemas.js";

/** What the providers group needs of the core. */
export interface ProvidersServiceDeps {
  /** The remote providers' settings (config file, command line, app). */
  remoteProviders: RemoteProviders;
  /** Their health; emits `changed`. */
  providers: ProviderRegistry;
  usage: UsageLedger;
}

/** Options of {@link ProvidersService}. */
export interface ProvidersServiceOptions {
  /** Shortest time between two `onChanged` events, in ms (changes in between are sent together). Default: 250. */
  changeIntervalMs?: number;
}

export const DEFAULT_PROVIDER_CHANGE_INTERVAL_MS = 250;

/** A provider's health as the contract carries it. */
function toHealth(status: ProviderStatus): ProviderHealth {
  return {
    healthy: status.healthy,
    circuit: status.circuit,
    consecutiveFailures: status.consecutiveFailures,
    outstanding: status.outstanding,
    models: [...status.models],
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
    ...(status.checkedAt !== undefined ? { checkedAt: status.checkedAt } : {}),
  };
}

/**
 * A remote provider as the contract carries it. Fields are copied one by one, so nothing the
 * core adds to its settings (least of all a key) reaches the UI by accident.
 */
export function toProviderInfo(info: RemoteProviderInfo): ProviderInfo | undefined {
  if (info.source === "local") return undefined;
  const { id, baseUrl, models, price, maxConcurrency, timeouts, capabilities } = info.config;
  return {
    id,
    baseUrl,
    ...(models ? { models: [...models] } : {}),
    ...(price ? { price: { input: price.input, output: price.output } } : {}),
    ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
    ...(timeouts ? { timeouts: { ...timeouts } } : {}),
    ...(capabilities ? { capabilities: { ...capabilities } } : {}),
    ...(info.maskedApiKey !== undefined ? { maskedApiKey: info.maskedApiKey } : {}),
    source: info.source,
    editable: info.editable,
    ...(info.status ? { health: toHealth(info.status) } : {}),
  };
}

/**
 * The providers group: the remote OpenAI-compatible providers (add, change, remove, test),
 * their health, and the usage and cost ledger. Changes apply at once (see RemoteProviders);
 * `onChanged` follows the registry's `changed` events, at most one per `changeIntervalMs`.
 */
export class ProvidersService implements ProvidersApi {
  private readonly events = new EventEmitter<{ changed: [ProviderInfo[]] }>();
  private readonly changeIntervalMs: number;
  private lastChangeSentAt = Number.NEGATIVE_INFINITY;
  private pendingChange: NodeJS.Timeout | undefined;
  private watchingRegistry = false;
  private disposed = false;

  constructor(
    private readonly deps: ProvidersServiceDeps,
    options: ProvidersServiceOptions = {},
  ) {
    this.changeIntervalMs = options.changeIntervalMs ?? DEFAULT_PROVIDER_CHANGE_INTERVAL_MS;
  }

  async list(): Promise<ProviderInfo[]> {
    return this.currentList();
  }

  async save(request: SaveProviderRequest): Promise<ProviderInfo> {
    const config = parseRequest(saveProviderRequest, request);
    const saved = toProviderInfo(this.deps.remoteProviders.save(config));
    // An app provider always has an app source; the guard keeps the types honest.
    if (!saved) throw new Error(`The provider '${config.id}' was saved as this machine's`);
    return saved;
  }

  async remove(request: { id: string }): Promise<void> {
    const { id } = parseRequest(providerIdRequest, request);
    this.deps.remoteProviders.remove(id);
  }

  async test(request: TestProviderRequest): Promise<ProviderTestResult> {
    // `{ id }` alone tests a saved provider; anything else is settings to try.
    const savedOnly = typeof request === "object" && request !== null && !Array.isArray(request) && Object.keys(request).length === 1 && "id" in request;
    const parsed = savedOnly ? parseRequest(providerIdRequest, request) : parseRequest(saveProviderRequest, request);
    const { models, latencyMs } = await this.deps.remoteProviders.test(parsed);
    return { models, latencyMs: Math.round(latencyMs) };
  }

  async usage(request: { sinceMs?: number }): Promise<UsageSummary> {
    const { sinceMs } = parseRequest(usageRequest, request ?? {});
    const summary = this.deps.usage.summary(sinceMs);
    return {
      since: summary.since,
      requests: summary.requests,
      localRequests: summary.localRequests,
      localShare: summary.localShare,
      costUsd: summary.costUsd,
      savedUsd: summary.savedUsd,
      savedShare: summary.savedShare,
      rows: summary.rows.map((row) => ({
        provider: row.provider,
        model: row.model,
        keyId: row.keyId,
        requests: row.requests,
        errors: row.errors,
        cacheHits: row.cacheHits,
        promptTokens: row.promptTokens,
        completionTokens: row.completionTokens,
        meanLatencyMs: row.meanLatencyMs,
        costUsd: row.costUsd,
        savedUsd: row.savedUsd,
      })),
    };
  }

  onChanged = (listener: (providers: ProviderInfo[]) => void): Unsubscribe => {
    this.events.on("changed", listener);
    this.watchRegistry();
    return () => {
      this.events.off("changed", listener);
      if (this.events.listenerCount("changed") === 0) this.unwatchRegistry();
    };
  };

  dispose(): void {
    this.disposed = true;
    this.unwatchRegistry();
    this.events.removeAllListeners();
  }

  private currentList(): ProviderInfo[] {
    return this.deps.remoteProviders.list().flatMap((info) => toProviderInfo(info) ?? []);
  }

  /** The registry changed: send the list now, or once `changeIntervalMs` has passed since the last one. */
  private readonly onRegistryChanged = (): void => {
    if (this.pendingChange || this.disposed) return;
    const wait = Math.max(0, this.lastChangeSentAt + this.changeIntervalMs - Date.now());
    // Always on a timer: the list is read after the change that caused it has finished.
    this.pendingChange = setTimeout(() => {
      this.pendingChange = undefined;
      this.lastChangeSentAt = Date.now();
      this.events.emit("changed", this.currentList());
    }, wait);
  };

  private watchRegistry(): void {
    if (this.watchingRegistry || this.disposed) return;
    this.watchingRegistry = true;
    this.deps.providers.on("changed", this.onRegistryChanged);
  }

  private unwatchRegistry(): void {
    if (this.pendingChange) clearTimeout(this.pendingChange);
    this.pendingChange = undefined;
    if (!this.watchingRegistry) return;
    this.watchingRegistry = false;
    this.deps.providers.off("changed", this.onRegistryChanged);
  }
}
