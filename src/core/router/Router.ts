import type { RerankResult } from "../inference/rerankTypes.js";
import type { ChatGenerationOptions, ChatMessage, EmbeddingInput, EmbeddingResult, GenerationDelta, GenerationOptions, GenerationResult } from "../../shared/api/generation.js";
import type { ChatPromptOptions } from "../engine/LoadedModel.js";
import { AbortedError, type MardukError, ModelNotFoundError, NoTargetAvailableError, QueueFullError, UnsupportedError, UpstreamError, toMardukError } from "../errors.js";
import { estimateChatTokenCount, estimateTokenCount } from "../inference/estimateTokens.js";
import { GenerationStream } from "../inference/GenerationStream.js";
import type { InferenceRequestOptions, StartedGeneration } from "../inference/inferenceTypes.js";
import type { Logger } from "../logger.js";
import { LOCAL_PROVIDER_ID } from "./LocalProvider.js";
import type { Provider, ProviderGeneration } from "./Provider.js";
import type { ProviderRegistry } from "./ProviderRegistry.js";
import { ResponseCache } from "./ResponseCache.js";
import { orderTargets, stickyFraction, type RoutingPolicy, type TargetView } from "./routingPolicies.js";

/** One target of a route: a model at a provider. */
export interface RouteTarget {
  /** Provider id ("local" for this machine). */
  provider: string;
  /** The model id at that provider. */
  model: string;
  /** Share of traffic under the "weighted" policy. Default: 1. */
  weight?: number;
}

/** A requested model name (an alias) that maps to targets, with a policy. */
export interface RouteDefinition {
  /** The name clients ask for, e.g. "default-chat". */
  alias: string;
  /** Default: "local-first". */
  policy?: RoutingPolicy;
  targets: RouteTarget[];
  /** Requests for this alias never leave the machine. Default: false. */
  localOnly?: boolean;
}

/** What a request needs of a target (targets that cannot are filtered out before picking). */
export interface RequestNeeds {
  /** Reranking needs what embeddings need (an encoder model) and is accounted on its own. */
  kind: "chat" | "completion" | "embeddings" | "rerank";
  tools?: boolean;
  jsonSchema?: boolean;
  /** A rough count of the prompt's tokens, to skip targets whose context is known to be too small. */
  promptTokensEstimate?: number;
}

/** One finished request, for usage and cost accounting. */
export interface RoutedRequestRecord {
  provider: string;
  modelId: string;
  kind: RequestNeeds["kind"];
  apiKeyFingerprint?: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  failed: boolean;
  cacheHit: boolean;
  /** Price of the provider that served it. */
  price: { inputPerMillion: number; outputPerMillion: number };
  /** Price of the remote that would have served it otherwise (for money saved locally), if any. */
  alternativePrice?: { inputPerMillion: number; outputPerMillion: number };
}

/** Options of {@link Router}. */
export interface RouterOptions {
  registry: ProviderRegistry;
  routes?: RouteDefinition[];
  /** Default: a cache of default size. */
  cache?: ResponseCache;
  /** Policy of a plain model name (no alias). Default: "local-first". */
  defaultPolicy?: RoutingPolicy;
  /** Called once per finished request (usage ledger, metrics). Must not throw. */
  onRecord?: (record: RoutedRequestRecord) => void;
  /** Called on each cache lookup. Default: nothing. */
  onCacheLookup?: (hit: boolean, bytes: number) => void;
  logger?: Logger;
}

interface Candidate {
  provider: Provider;
  modelId: string;
  weight: number;
}

interface Observed {
  firstTokenMs?: number;
  decodeTokensPerSecond?: number;
}

/** Exponentially weighted mean: recent requests count most. */
const ewma = (previous: number | undefined, sample: number) => (previous === undefined ? sample : previous * 0.7 + sample * 0.3);

/** Retry-After used when a 429 does not say how long. */
const DEFAULT_PAUSE_MS = 1000;

/**
 * Maps a requested model to targets, orders them by policy, and runs the request on the first
 * that can: before the first token it fails over (error, overload, timeout, a prompt too long),
 * after it never (the client sees the error, not a spliced answer). Balances equal targets by
 * least outstanding requests, honours each provider's breaker and Retry-After, and answers
 * deterministic requests from the response cache.
 */
export class Router {
  private readonly routes: Map<string, RouteDefinition>;
  private readonly observed = new Map<string, Observed>();
  private readonly lastPicked = new Map<string, number>();
  private pickSerial = 0;
  readonly cache: ResponseCache;

  constructor(private readonly options: RouterOptions) {
    this.cache = options.cache ?? new ResponseCache();
    this.routes = new Map((options.routes ?? []).map((route) => [route.alias, route]));
  }

  listRoutes(): RouteDefinition[] {
    return [...this.routes.values()];
  }

  /** Adds or replaces a route at run time (a user alias, see UserAliasStore). */
  putRoute(route: RouteDefinition): void {
    this.routes.set(route.alias, route);
  }

  /** Removes a route added at run time; false when there was none. */
  removeRoute(alias: string): boolean {
    return this.routes.delete(alias);
  }

  async chat(
    requested: string,
    messages: readonly ChatMessage[],
    options: ChatGenerationOptions & InferenceRequestOptions,
  ): Promise<StartedGeneration> {
    const { signal, local, routing: _routing, ...generation } = options;
    const needs: RequestNeeds = {
      kind: "chat",
      tools: (generation.tools?.length ?? 0) > 0 && generation.toolChoice !== "none",
      jsonSchema: generation.responseFormat !== undefined && generation.responseFormat.type !== "text",
      promptTokensEstimate: estimateChatTokenCount(messages),
    };
    return this.generate(requested, needs, options, { kind: "chat", messages, generation }, (provider, modelId) =>
      provider.chat(modelId, messages, { ...generation, signal, local }),
    );
  }

  async complete(requested: string, prompt: string, options: GenerationOptions & InferenceRequestOptions): Promise<StartedGeneration> {
    const { signal, local, routing: _routing, ...generation } = options;
    const needs: RequestNeeds = { kind: "completion", promptTokensEstimate: estimateTokenCount(prompt) };
    return this.generate(requested, needs, options, { kind: "completion", prompt, generation }, (provider, modelId) =>
      provider.complete(modelId, prompt, { ...generation, signal, local }),
    );
  }

  async embed(requested: string, inputs: readonly EmbeddingInput[], options: InferenceRequestOptions): Promise<EmbeddingResult & { modelId: string; provider: string }> {
    const routed = await this.candidates(requested, { kind: "embeddings" }, options);
    const { alternativePrice } = routed;
    const startedAt = performance.now();
    return this.attempt(requested, routed, options.signal, async (candidate) => {
      const result = await candidate.provider.embed(candidate.modelId, inputs, { signal: options.signal, local: options.local, priority: options.priority });
      this.record(candidate.provider, result.modelId, "embeddings", options, { promptTokens: result.promptTokens, completionTokens: 0 }, startedAt, false, false, alternativePrice);
      return { ...result, provider: candidate.provider.id };
    });
  }

  /**
   * Ranks documents against a query at the target that serves the model (routed as an
   * embedding request: rerankers are encoder models). A target that cannot rank is refused.
   */
  async rerank(requested: string, query: string, documents: readonly string[], options: InferenceRequestOptions): Promise<RerankResult & { modelId: string; provider: string }> {
    const routed = await this.candidates(requested, { kind: "rerank" }, options);
    const { alternativePrice } = routed;
    const startedAt = performance.now();
    return this.attempt(requested, routed, options.signal, async (candidate) => {
      if (!candidate.provider.rerank) throw new UnsupportedError(`The provider '${candidate.provider.id}' does not support reranking`, "model");
      const result = await candidate.provider.rerank(candidate.modelId, query, documents, { signal: options.signal, local: options.local, priority: options.priority });
      this.record(candidate.provider, result.modelId, "rerank", options, { promptTokens: result.promptTokens, completionTokens: 0 }, startedAt, false, false, alternativePrice);
      return { ...result, provider: candidate.provider.id };
    });
  }

  /**
   * The prompt tokens a chat request would take at the target that would serve it: exact where
   * the provider can count (this machine's models, with their tokenizer and template), else the
   * rough estimate (remotes). A target that does not have the model passes to the next.
   */
  async countChatTokens(
    requested: string,
    messages: readonly ChatMessage[],
    options: ChatPromptOptions & InferenceRequestOptions,
  ): Promise<{ provider: string; modelId: string; tokens: number; exact: boolean }> {
    const { signal, local, routing: _routing, ...prompt } = options;
    const { tools, toolChoice, responseFormat } = prompt;
    const needs: RequestNeeds = {
      kind: "chat",
      tools: (tools?.length ?? 0) > 0 && toolChoice !== "none",
      jsonSchema: responseFormat !== undefined && responseFormat.type !== "text",
    };
    const { candidates } = await this.candidates(requested, needs, options);
    let lastError: MardukError | undefined;
    for (const { provider, modelId } of candidates) {
      if (signal?.aborted) throw new AbortedError();
      if (!provider.countChatTokens) {
        const toolsText = tools?.length ? JSON.stringify(tools) : "";
        return { provider: provider.id, modelId, tokens: estimateChatTokenCount(messages) + estimateTokenCount(toolsText), exact: false };
      }
      try {
        const counted = await provider.countChatTokens(modelId, messages, { ...prompt, signal, local });
        return { provider: provider.id, ...counted, exact: true };
      } catch (caught) {
        const error = toMardukError(caught);
        if (classify(error) !== "skip") throw error;
        lastError = error;
      }
    }
    throw lastError ?? new ModelNotFoundError(requested);
  }

  /** The targets a requested name maps to, filtered and in the order to try. */
  async candidates(
    requested: string,
    needs: RequestNeeds,
    options: InferenceRequestOptions,
  ): Promise<{ candidates: Candidate[]; alternativePrice?: Candidate["provider"]["price"]; remotesExcluded: boolean }> {
    const { registry } = this.options;
    const route = this.routes.get(requested);
    const localOnly = options.routing?.localOnly === true || route?.localOnly === true;
    let all: Candidate[];
    if (route) {
      all = route.targets.flatMap((target) => {
        const provider = registry.get(target.provider);
        return provider ? [{ provider, modelId: target.model, weight: target.weight ?? 1 }] : [];
      });
    } else {
      // A plain name: this machine (if it has the model; it says so when asked) and every remote serving it.
      const localProvider = registry.get(LOCAL_PROVIDER_ID);
      const remotes = await registry.remotesServing(requested);
      all = [...(localProvider ? [localProvider] : []), ...remotes].map((provider) => ({ provider, modelId: requested, weight: 1 }));
    }
    const alternative = all.find((candidate) => candidate.provider.kind === "remote")?.provider.price;
    const allowed = localOnly ? all.filter((candidate) => candidate.provider.kind === "local") : all;
    const capable = await this.filterCapable(allowed, needs);
    if (capable.length === 0) {
      if (allowed.length > 0) throw new NoTargetAvailableError(`No target of '${requested}' can serve this request (${describeNeeds(needs)})`);
      if (localOnly && all.length > 0) throw new NoTargetAvailableError(`'${requested}' is only served by remote providers, and this request must stay on this machine`);
      throw new ModelNotFoundError(requested);
    }
    const views = capable.map((candidate) => ({ ...candidate, ...this.viewOf(candidate) }));
    const sticky = options.routing?.stickyKey;
    const fraction = sticky ? stickyFraction(`${requested}\u0000${sticky}`) : Math.random();
    const ordered = orderTargets(views, route?.policy ?? this.options.defaultPolicy ?? "local-first", fraction);
    return { candidates: ordered, ...(alternative ? { alternativePrice: alternative } : {}), remotesExcluded: allowed.length < all.length };
  }

  private async filterCapable(candidates: Candidate[], needs: RequestNeeds): Promise<Candidate[]> {
    const results = await Promise.all(
      candidates.map(async (candidate) => {
        // The local engine checks its own models (and says model_not_found) when asked.
        if (candidate.provider.kind === "local") return candidate;
        const model = (await this.options.registry.modelsOf(candidate.provider.id)).find((entry) => entry.id === candidate.modelId);
        const capabilities = model?.capabilities;
        if (!capabilities) return candidate;
        if (needs.kind === "embeddings" || needs.kind === "rerank" ? !capabilities.embeddings : !capabilities.chat) return undefined;
        if (needs.tools && !capabilities.tools) return undefined;
        if (needs.jsonSchema && !capabilities.jsonSchema) return undefined;
        if (capabilities.contextLength !== undefined && (needs.promptTokensEstimate ?? 0) >= capabilities.contextLength) return undefined;
        return candidate;
      }),
    );
    return results.filter((candidate): candidate is Candidate => candidate !== undefined);
  }

  private viewOf(candidate: Candidate): TargetView {
    const key = targetKey(candidate);
    const observed = this.observed.get(key) ?? {};
    return {
      kind: candidate.provider.kind,
      price: candidate.provider.price.inputPerMillion + candidate.provider.price.outputPerMillion,
      outstanding: this.options.registry.outstanding(candidate.provider.id),
      ...observed,
      weight: candidate.weight,
      lastPickedOrder: this.lastPicked.get(key) ?? 0,
    };
  }

  private async generate(
    requested: string,
    needs: RequestNeeds,
    options: InferenceRequestOptions & GenerationOptions,
    cacheRequest: unknown,
    start: (provider: Provider, modelId: string) => Promise<ProviderGeneration>,
  ): Promise<StartedGeneration> {
    const routed = await this.candidates(requested, needs, options);
    const { candidates, alternativePrice } = routed;
    const startedAt = performance.now();
    const cacheable = this.cache.enabled && options.routing?.cache !== false && (options.temperature === 0 || options.seed !== undefined);
    if (cacheable) {
      for (const candidate of candidates) {
        const hit = this.cache.get(ResponseCache.key({ provider: candidate.provider.id, modelId: candidate.modelId }, cacheRequest));
        if (!hit) continue;
        this.options.onCacheLookup?.(true, 0);
        this.record(candidate.provider, candidate.modelId, needs.kind, options, hit.result.usage, startedAt, false, true, alternativePrice);
        return { provider: candidate.provider.id, modelId: candidate.modelId, cache: "hit", stream: replay(hit.deltas, hit.result) };
      }
      this.options.onCacheLookup?.(false, 0);
    }
    return this.attempt(requested, routed, options.signal, async (candidate) => {
      const generation = await start(candidate.provider, candidate.modelId);
      // Until the first token (or the end), a failure still fails over.
      await generation.stream.firstOutput;
      const cacheKey = cacheable ? ResponseCache.key({ provider: candidate.provider.id, modelId: candidate.modelId }, cacheRequest) : undefined;
      // Only a cacheable answer is copied on its way (to keep its deltas); others pass untouched.
      const stream = cacheKey ? this.recordForCache(generation.stream, cacheKey) : generation.stream;
      this.settle(candidate, generation, stream, needs.kind, options, startedAt, alternativePrice);
      return { provider: candidate.provider.id, modelId: generation.modelId, ...(cacheable ? { cache: "miss" as const } : {}), stream };
    });
  }

  /**
   * Runs `call` on each candidate in turn until one succeeds. Failures that another target
   * may not have (down, overloaded, timed out, model missing there, prompt too long for it)
   * move on; failures of the request itself (bad parameters, abort) end the search.
   */
  private async attempt<T>(
    requested: string,
    { candidates, remotesExcluded }: { candidates: Candidate[]; remotesExcluded: boolean },
    signal: AbortSignal | undefined,
    call: (candidate: Candidate) => Promise<T>,
  ): Promise<T> {
    const { registry } = this.options;
    const reasons: string[] = [];
    const errors: MardukError[] = [];
    let retryAfterMs: number | undefined;
    let tried = 0;
    for (const candidate of candidates) {
      if (signal?.aborted) throw new AbortedError();
      const provider = candidate.provider;
      const breaker = registry.breaker(provider.id);
      if (provider.kind === "remote") {
        if (!breaker || !breaker.tryPass()) {
          reasons.push(`${provider.id}: ${breaker?.state === "open" ? "circuit open" : "cooling down"}`);
          continue;
        }
        if (registry.outstanding(provider.id) >= provider.maxConcurrency) {
          breaker.release();
          reasons.push(`${provider.id}: at its ${provider.maxConcurrency} concurrent requests`);
          retryAfterMs = Math.min(retryAfterMs ?? Infinity, 1000);
          continue;
        }
      }
      tried++;
      const key = targetKey(candidate);
      this.lastPicked.set(key, ++this.pickSerial);
      registry.track(provider.id, 1);
      let tracked = true;
      try {
        const result = await call(candidate);
        if (provider.kind === "remote") {
          breaker?.recordSuccess();
          registry.notifyChanged();
        }
        // A generation's relay stops tracking when the stream ends; an embedding is done now.
        if (!(isStarted(result))) {
          registry.track(provider.id, -1);
        }
        tracked = false;
        return result;
      } catch (caught) {
        if (tracked) registry.track(provider.id, -1);
        const error = toMardukError(caught);
        if (signal?.aborted || error.code === "aborted") throw error;
        const verdict = classify(error);
        if (verdict === "final") throw error;
        if (provider.kind === "remote" && breaker) {
          if (verdict === "pause") {
            const ms = error instanceof UpstreamError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : DEFAULT_PAUSE_MS;
            breaker.pause(ms);
            retryAfterMs = Math.min(retryAfterMs ?? Infinity, ms);
          } else if (verdict === "failure") breaker.recordFailure();
          else breaker.release();
          registry.notifyChanged();
        }
        errors.push(error);
        reasons.push(`${provider.id}: ${error.message}`);
        // A model that one provider does not have is routine; a provider that fails is not.
        const log = verdict === "skip" && error.code === "model_not_found" ? "debug" : "warn";
        this.options.logger?.[log]({ provider: provider.id, model: candidate.modelId, err: error.message }, "target failed; trying the next");
      }
    }
    const notFound = (error: MardukError) => error.code === "model_not_found" || (error instanceof UpstreamError && error.status === 404);
    if (remotesExcluded && errors.every(notFound)) {
      throw new NoTargetAvailableError(`'${requested}' is only served by remote providers, and this request must stay on this machine`);
    }
    // One target, one error: the client gets that error as it is (a 429, a context error...).
    if (tried === 1 && errors.length === 1 && reasons.length === 1) throw errors[0]!;
    if (errors.length === candidates.length && errors.every(notFound)) throw new ModelNotFoundError(requested);
    // When the first target may be tried again: breakers opened or paused, before or during this request.
    const now = Date.now();
    for (const candidate of candidates) {
      const at = candidate.provider.kind === "remote" ? (registry.breaker(candidate.provider.id)?.availableAt ?? 0) : 0;
      if (at > now) retryAfterMs = Math.min(retryAfterMs ?? Infinity, at - now);
    }
    const retryAfterSeconds = retryAfterMs !== undefined && Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : undefined;
    throw new NoTargetAvailableError(`No target could serve '${requested}': ${reasons.join("; ") || "none is available"}`, retryAfterSeconds);
  }

  /**
   * Bookkeeping once a served generation ends: the provider's running count, its breaker
   * (after the first token a failure is the client's to see, and still the target's fault),
   * the observed speeds, and the usage record.
   */
  private settle(
    candidate: Candidate,
    generation: ProviderGeneration,
    stream: GenerationStream,
    kind: RequestNeeds["kind"],
    options: InferenceRequestOptions,
    startedAt: number,
    alternativePrice: Candidate["provider"]["price"] | undefined,
  ): void {
    const { registry } = this.options;
    const provider = candidate.provider;
    const key = targetKey(candidate);
    stream.result.then(
      (result) => {
        registry.track(provider.id, -1);
        const observed = this.observed.get(key) ?? {};
        this.observed.set(key, {
          firstTokenMs: ewma(observed.firstTokenMs, result.timings.firstTokenMs),
          decodeTokensPerSecond: result.timings.decodeTokensPerSecond > 0 ? ewma(observed.decodeTokensPerSecond, result.timings.decodeTokensPerSecond) : observed.decodeTokensPerSecond,
        });
        this.record(provider, generation.modelId, kind, options, result.usage, startedAt, false, false, alternativePrice);
      },
      (caught: unknown) => {
        registry.track(provider.id, -1);
        if (provider.kind === "remote" && toMardukError(caught).code !== "aborted") {
          registry.breaker(provider.id)?.recordFailure();
          registry.notifyChanged();
        }
        this.record(provider, generation.modelId, kind, options, { promptTokens: 0, completionTokens: 0 }, startedAt, true, false, alternativePrice);
      },
    );
  }

  /** A copy of `source` that stores its deltas and result in the cache once it ends well. */
  private recordForCache(source: GenerationStream, cacheKey: string): GenerationStream {
    const copy = new GenerationStream();
    copy.markStarted();
    const deltas: GenerationDelta[] = [];
    void (async () => {
      try {
        for await (const delta of source) {
          deltas.push(delta);
          copy.push(delta);
        }
        const result = await source.result;
        if (result.finishReason !== "abort") this.cache.set(cacheKey, { deltas, result });
        copy.end(result);
      } catch (error) {
        copy.fail(error);
      }
    })();
    return copy;
  }

  private record(
    provider: Provider,
    modelId: string,
    kind: RequestNeeds["kind"],
    options: InferenceRequestOptions,
    usage: { promptTokens: number; completionTokens: number },
    startedAt: number,
    failed: boolean,
    cacheHit: boolean,
    alternativePrice: Candidate["provider"]["price"] | undefined,
  ): void {
    try {
      this.options.onRecord?.({
        provider: provider.id,
        modelId,
        kind,
        ...(options.routing?.apiKeyFingerprint ? { apiKeyFingerprint: options.routing.apiKeyFingerprint } : {}),
        promptTokens: usage.promptTokens,
        completionTokens: usage.completionTokens,
        latencyMs: performance.now() - startedAt,
        failed,
        cacheHit,
        price: cacheHit ? { inputPerMillion: 0, outputPerMillion: 0 } : provider.price,
        ...(alternativePrice && (provider.kind === "local" || cacheHit) ? { alternativePrice } : {}),
      });
    } catch (error) {
      this.options.logger?.warn({ err: error }, "usage record failed");
    }
  }
}

function targetKey(candidate: Candidate): string {
  return `${candidate.provider.id}\u0000${candidate.modelId}`;
}

function isStarted(value: unknown): value is StartedGeneration {
  return typeof value === "object" && value !== null && "stream" in value;
}

function describeNeeds(needs: RequestNeeds): string {
  const parts = [needs.kind === "embeddings" ? "embeddings" : needs.kind === "rerank" ? "reranking" : "chat"];
  if (needs.tools) parts.push("tools");
  if (needs.jsonSchema) parts.push("JSON schema");
  if (needs.promptTokensEstimate) parts.push(`about ${needs.promptTokensEstimate} prompt tokens`);
  return parts.join(", ");
}

/**
 * What a failure means for routing: "final" (the request itself is wrong, or was aborted),
 * "pause" (the target is overloaded and said for how long), "failure" (the target is broken:
 * counts against its breaker), "skip" (this target cannot serve it; another may).
 */
function classify(error: MardukError): "final" | "pause" | "failure" | "skip" {
  if (error instanceof UpstreamError) {
    const status = error.status;
    if (status === undefined || status >= 500 || status === 408) return "failure";
    if (status === 429) return "pause";
    if (status === 404 || status === 409 || status === 413) return "skip";
    // 400-class answers are about the request: another target would refuse it too.
    return "final";
  }
  if (error instanceof QueueFullError) return "skip";
  switch (error.code) {
    case "model_not_found":
    case "model_load_failed":
    case "model_crashed":
    case "context_length_exceeded":
    case "queue_timeout":
    case "no_target_available":
    case "internal_error":
      return "skip";
    default:
      return "final";
  }
}

/** A cached answer streamed again: the same deltas, then the same result. */
function replay(deltas: readonly GenerationDelta[], result: GenerationResult): GenerationStream {
  const stream = new GenerationStream();
  stream.markStarted();
  for (const delta of deltas) stream.push(delta);
  stream.end(result);
  return stream;
}
