import { InvalidArgumentError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ProviderStore } from "../storage/ProviderStore.js";
import { OpenAiCompatibleProvider } from "./OpenAiCompatibleProvider.js";
import type { ProviderRegistry, ProviderSource, ProviderStatus } from "./ProviderRegistry.js";
import { parseRouterConfig, providerConfigSchema, resolveSecret, type ProviderConfig } from "./routerConfig.js";

/** A remote provider as the app shows it: its settings (the key masked), where it comes from, its health. */
export interface RemoteProviderInfo {
  config: Omit<ProviderConfig, "apiKey">;
  /** "sk-…abcd", or absent without a key. The key itself never leaves the core. */
  maskedApiKey?: string;
  source: ProviderSource;
  /** Providers from the config file or the command line are changed there, not in the app. */
  editable: boolean;
  status?: ProviderStatus;
}

/** Masks a key for display: its first 3 and last 4 characters. */
export function maskApiKey(key: string | undefined): string | undefined {
  if (!key) return undefined;
  return key.length <= 10 ? "•".repeat(key.length) : `${key.slice(0, 3)}…${key.slice(-4)}`;
}

/** `http://host:port` means that server's `/v1` (what `--upstream` is given). */
export function normalizeUpstreamUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = "/v1";
  return parsed.toString().replace(/\/+$/, "");
}

/** The provider a config describes (its key read from the environment when it says `${NAME}`). */
export function createRemoteProvider(config: ProviderConfig, field = `providers.${config.id}.apiKey`): OpenAiCompatibleProvider {
  return new OpenAiCompatibleProvider({
    id: config.id,
    baseUrl: config.baseUrl,
    apiKey: resolveSecret(config.apiKey, field),
    ...(config.models ? { models: config.models } : {}),
    price: { inputPerMillion: config.price?.input ?? 0, outputPerMillion: config.price?.output ?? 0 },
    ...(config.maxConcurrency !== undefined ? { maxConcurrency: config.maxConcurrency } : {}),
    ...(config.timeouts ? { timeouts: config.timeouts } : {}),
    ...(config.capabilities ? { capabilities: config.capabilities } : {}),
  });
}

/**
 * The remote providers: from the config file and `--upstream` (fixed while the server runs),
 * and those added in the app (stored in SQLite; changes apply at once, without a restart).
 */
export class RemoteProviders {
  private readonly configs = new Map<string, { config: ProviderConfig; source: ProviderSource }>();

  constructor(
    private readonly registry: ProviderRegistry,
    private readonly store: ProviderStore,
    private readonly logger?: Logger,
  ) {}

  /** Adds the fixed providers, then the app's (an app provider never replaces a fixed one). */
  start(fixed: { config: ProviderConfig; source: "config" | "cli" }[]): void {
    for (const { config, source } of fixed) this.add(config, source);
    for (const stored of this.store.list()) {
      if (this.configs.has(stored.config.id)) {
        this.logger?.warn({ provider: stored.config.id }, "a provider added in the app has the id of one from the config; the config's is used");
        continue;
      }
      try {
        this.add({ ...stored.config, ...(stored.apiKey ? { apiKey: stored.apiKey } : {}) }, "app");
      } catch (error) {
        this.logger?.warn({ provider: stored.config.id, err: error }, "stored provider skipped");
      }
    }
  }

  list(): RemoteProviderInfo[] {
    const statuses = new Map(this.registry.status().map((status) => [status.id, status]));
    return [...this.configs.values()].map(({ config, source }) => {
      const { apiKey, ...rest } = config;
      // An `${ENV}` reference (config file) is no secret and says where the key comes from.
      const masked = apiKey !== undefined && /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(apiKey) ? apiKey : maskApiKey(apiKey);
      const status = statuses.get(config.id);
      return { config: rest, ...(masked ? { maskedApiKey: masked } : {}), source, editable: source === "app", ...(status ? { status } : {}) };
    });
  }

  /**
   * Adds or changes a provider of the app; it is used at once. A missing `apiKey` keeps the
   * stored one. @throws InvalidArgumentError for a bad field or a provider of the config file
   */
  save(input: unknown): RemoteProviderInfo {
    const config = parseProvider(input);
    const existing = this.configs.get(config.id);
    if (existing && existing.source !== "app") throw new InvalidArgumentError(`The provider '${config.id}' comes from the ${existing.source === "cli" ? "command line" : "config file"}; change it there`, "id");
    const stored = this.store.save(config);
    this.add({ ...stored.config, ...(stored.apiKey ? { apiKey: stored.apiKey } : {}) }, "app");
    return this.list().find((info) => info.config.id === config.id)!;
  }

  /** @throws InvalidArgumentError for a provider that is not the app's */
  remove(id: string): void {
    const existing = this.configs.get(id);
    if (!existing) throw new InvalidArgumentError(`No provider '${id}'`, "id");
    if (existing.source !== "app") throw new InvalidArgumentError(`The provider '${id}' comes from the ${existing.source === "cli" ? "command line" : "config file"}; remove it there`, "id");
    this.store.remove(id);
    this.configs.delete(id);
    this.registry.remove(id);
  }

  /**
   * Tries a provider's settings (or a saved provider, by id): lists its models.
   * Resolves with them; rejects with why it failed.
   */
  async test(input: unknown): Promise<{ models: string[]; latencyMs: number }> {
    let provider;
    if (typeof input === "object" && input !== null && Object.keys(input).length === 1 && typeof (input as { id?: unknown }).id === "string") {
      const id = (input as { id: string }).id;
      const known = this.configs.get(id);
      if (!known) throw new InvalidArgumentError(`No provider '${id}'`, "id");
      provider = createRemoteProvider(known.config);
    } else {
      const config = parseProvider(input);
      // Testing the saved provider with its key left out uses the stored key.
      const storedKey = config.apiKey === undefined ? this.configs.get(config.id)?.config.apiKey : undefined;
      provider = createRemoteProvider({ ...config, ...(storedKey ? { apiKey: storedKey } : {}) });
    }
    const startedAt = performance.now();
    try {
      await provider.checkHealth();
      const models = (await provider.listModels()).map((model) => model.id);
      if (this.registry.get(provider.id)) void this.registry.refresh(provider.id);
      return { models, latencyMs: performance.now() - startedAt };
    } finally {
      provider.dispose();
    }
  }

  private add(config: ProviderConfig, source: ProviderSource): void {
    const provider = createRemoteProvider(config);
    this.configs.set(config.id, { config, source });
    this.registry.set(provider, source);
  }
}

function parseProvider(input: unknown): ProviderConfig {
  const parsed = providerConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  // The config file's messages name the field the same way.
  return parseRouterConfig({ providers: [input] }, "provider").providers[0]!;
}
