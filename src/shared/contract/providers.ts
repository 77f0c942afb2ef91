import type { EventSource } from "./common.js";

/** Where a remote provider's settings come from: the config file, `serve --upstream`, or the app. */
export type ProviderSource = "config" | "cli" | "app";

/** A provider's circuit breaker: "open" refuses requests for a while after repeated failures. */
export type ProviderCircuitState = "closed" | "open" | "half-open";

/** US dollars per million tokens. */
export interface ProviderPrice {
  /** Per million prompt tokens. */
  input: number;
  /** Per million generated tokens. */
  output: number;
}

/** Time limits of requests to a provider, in ms. */
export interface ProviderTimeouts {
  /** Until it answers with headers. Default: 10000. */
  connectMs?: number;
  /** Until the first token (or the whole answer of a call that does not generate). Default: 60000. */
  firstTokenMs?: number;
  /** The whole call, streaming included. Default: 600000. */
  totalMs?: number;
}

/** What a provider's models can do. Default: everything (chat, embeddings, tools, JSON schema). */
export interface ProviderCapabilities {
  chat?: boolean;
  embeddings?: boolean;
  tools?: boolean;
  jsonSchema?: boolean;
  contextLength?: number;
}

/** A remote OpenAI-compatible provider's settings, without its API key. */
export interface ProviderSettings {
  /** Unique id (letters, digits, '.', '_', '-'); "local" is this machine's. */
  id: string;
  /** Base URL of its OpenAI API, usually ending in `/v1`. */
  baseUrl: string;
  /** The models it serves. Default: discovered from its `/v1/models`. */
  models?: string[];
  /** Its price, for the cost ledger. Default: free. */
  price?: ProviderPrice;
  /** Requests it may run at once. Default: 8. */
  maxConcurrency?: number;
  timeouts?: ProviderTimeouts;
  capabilities?: ProviderCapabilities;
}

/** A provider's health as the router sees it now. */
export interface ProviderHealth {
  /** Its models were listed, the last check passed, and its breaker is closed. */
  healthy: boolean;
  circuit: ProviderCircuitState;
  consecutiveFailures: number;
  /** Requests running on it now. */
  outstanding: number;
  /** Its models as last discovered. */
  models: string[];
  /** Why the last check or request failed. */
  lastError?: string;
  /** When it was last checked (ms since the epoch). */
  checkedAt?: number;
}

/** A remote provider as the app shows it. The API key itself never leaves the core. */
export interface ProviderInfo extends ProviderSettings {
  /** The key's first and last characters ("sk-…abcd"), an `${ENV_VAR}` reference, or absent without a key. */
  maskedApiKey?: string;
  source: ProviderSource;
  /** Only providers added in the app can be changed or removed in it. */
  editable: boolean;
  /** Absent until the router has registered it. */
  health?: ProviderHealth;
}

/** Adds a provider, or changes one that was added in the app (same id). */
export interface SaveProviderRequest extends ProviderSettings {
  /**
   * Its API key, or `${ENV_VAR}` to read it from the server's environment. Absent: the stored
   * key is kept (editing without retyping it); "": the stored key is removed. Default: absent.
   */
  apiKey?: string;
}

/** Settings to try before saving them (a missing key uses the stored one), or a saved provider by id. */
export type TestProviderRequest = SaveProviderRequest | { id: string };

/** A successful connection test. */
export interface ProviderTestResult {
  /** The models the provider lists. */
  models: string[];
  /** How long listing them took. */
  latencyMs: number;
}

/** Usage of one provider, model and API key over a period. */
export interface UsageRow {
  /** A provider id, "local", or "cache" for answers from the response cache. */
  provider: string;
  model: string;
  /** Fingerprint of the API key; null for requests without one (the app, loopback without keys). */
  keyId: string | null;
  requests: number;
  errors: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  meanLatencyMs: number;
  costUsd: number;
  /** What these requests would have cost at the remote that would otherwise have served them. */
  savedUsd: number;
}

/** Totals over every provider since a time: cost, and what serving on this machine saved. */
export interface UsageSummary {
  /** ms since the epoch (0: since the beginning). */
  since: number;
  requests: number;
  /** Requests served on this machine or from the cache. */
  localRequests: number;
  /** localRequests / requests (0 without requests). */
  localShare: number;
  costUsd: number;
  savedUsd: number;
  /** savedUsd / (savedUsd + costUsd). */
  savedShare: number;
  /** The busiest first. */
  rows: UsageRow[];
}

/** The providers group: remote OpenAI-compatible servers the router can send requests to, and their usage. */
export interface ProvidersApi {
  /** Every remote provider (config file, command line and app), with its health. */
  list(): Promise<ProviderInfo[]>;
  /** Adds or changes a provider of the app; it is used at once. Field errors name the field in `param`. */
  save(request: SaveProviderRequest): Promise<ProviderInfo>;
  /** Removes a provider added in the app. */
  remove(request: { id: string }): Promise<void>;
  /** Lists a provider's models with the given settings (nothing is saved); rejects with why it failed. */
  test(request: TestProviderRequest): Promise<ProviderTestResult>;
  /** Requests, tokens, errors and cost per provider, model and key since `sinceMs` (ms since the epoch; default: all). */
  usage(request: { sinceMs?: number }): Promise<UsageSummary>;
  /** The new list, when a provider is added, changed or removed, or changes health (a few events a second at most). */
  onChanged: EventSource<ProviderInfo[]>;
}
