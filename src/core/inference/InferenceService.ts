import type { RerankResult } from "./rerankTypes.js";
import type { ChatGenerationOptions, ChatMessage, EmbeddingInput, EmbeddingResult, GenerationOptions, GenerationResult } from "../../shared/api/generation.js";
import type { ChatPromptOptions } from "../engine/LoadedModel.js";
import type { ModelResidency } from "../engine/ModelResidency.js";
import { ModelNotFoundError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Router } from "../router/Router.js";
import type { Metrics } from "../telemetry/Metrics.js";
import { GenerationStream } from "./GenerationStream.js";
import type { InferenceRequestOptions, LocalModelOptions, ServedBy, StartedGeneration } from "./inferenceTypes.js";

export type { InferenceRequestOptions, LocalModelOptions, RoutingHints, ServedBy, StartedGeneration } from "./inferenceTypes.js";

/** Learns about every generation as it runs (the live dashboards). Methods must not throw. */
export interface GenerationObserver {
  /** Tokens were generated, reported as they stream. */
  onTokens?(modelId: string, tokenCount: number): void;
  /** A generation ended (also a stopped one, with finish reason "abort"); failures are not reported. */
  onFinished?(modelId: string, result: GenerationResult): void;
}

/** What the door needs. */
export interface InferenceServiceDeps {
  router: Router;
  /** This machine's models, for loading and unloading by hand (Ollama's empty requests). */
  residency: ModelResidency;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The one door every protocol (OpenAI, Ollama, the UI) goes through: the router picks who
 * serves (this machine or a remote), and the door records metrics and tells observers.
 * A call resolves once its generation has produced its first token or ended, so a failure
 * before that is a proper error of the call, and the serving provider is known.
 */
export class InferenceService {
  private readonly observers = new Set<GenerationObserver>();

  constructor(private readonly deps: InferenceServiceDeps) {}

  async chat(model: string, messages: readonly ChatMessage[], options: ChatGenerationOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    return this.track(await this.deps.router.chat(model, messages, options));
  }

  async complete(model: string, prompt: string, options: GenerationOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    return this.track(await this.deps.router.complete(model, prompt, options));
  }

  async embed(model: string, inputs: readonly EmbeddingInput[], options: InferenceRequestOptions = {}): Promise<EmbeddingResult & ServedBy> {
    const result = await this.deps.router.embed(model, inputs, options);
    this.deps.metrics.recordEmbedding(result.modelId, inputs.length, result);
    return result;
  }

  /** Scores documents' relevance to a query with a reranking model (`POST /v1/rerank`). */
  async rerank(model: string, query: string, documents: readonly string[], options: InferenceRequestOptions = {}): Promise<RerankResult & ServedBy> {
    const result = await this.deps.router.rerank(model, query, documents, options);
    this.deps.metrics.recordRerank(result.modelId, documents.length, result);
    return result;
  }

  /**
   * The prompt tokens a chat request takes (messages, and the tools the template renders), at
   * the target that would serve it: exact for this machine's models (loading the model if
   * needed), estimated for remotes (`exact` false). Nothing is generated.
   */
  async countChatTokens(
    model: string,
    messages: readonly ChatMessage[],
    options: ChatPromptOptions & InferenceRequestOptions = {},
  ): Promise<{ tokens: number; exact: boolean } & ServedBy> {
    return this.deps.router.countChatTokens(model, messages, options);
  }

  /**
   * Loads a model of this machine (or, with `keepAliveMs` 0, lets it unload once idle) without
   * generating: Ollama's empty chat or prompt. A model only remotes serve needs nothing.
   */
  async prepare(model: string, local: LocalModelOptions = {}): Promise<ServedBy> {
    const { candidates } = await this.deps.router.candidates(model, { kind: "chat" }, { local });
    let notFound: unknown;
    for (const candidate of candidates) {
      if (candidate.provider.kind !== "local") return { provider: candidate.provider.id, modelId: candidate.modelId };
      try {
        const lease = await this.deps.residency.acquire(candidate.modelId, { keepAliveMs: local.keepAliveMs, load: local.load });
        lease.release();
        return { provider: candidate.provider.id, modelId: lease.model.id };
      } catch (error) {
        // Not on this machine: a remote may serve it.
        if ((error as { code?: string }).code !== "model_not_found") throw error;
        notFound = error;
      }
    }
    throw notFound ?? new ModelNotFoundError(model);
  }

  /** Registers an observer of every generation; returns the function that removes it. */
  observe(observer: GenerationObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  private notify(report: (observer: GenerationObserver) => void): void {
    for (const observer of this.observers) {
      try {
        report(observer);
      } catch (error) {
        this.deps.logger.warn({ err: error }, "generation observer failed");
      }
    }
  }

  /** A copy of `source` that reports each delta's tokens to the observers as it passes. */
  private relay(modelId: string, source: GenerationStream): GenerationStream {
    const relayed = new GenerationStream();
    source.started.then(() => relayed.markStarted(), () => undefined);
    void (async () => {
      try {
        for await (const delta of source) {
          if (delta.tokenCount > 0) this.notify((observer) => observer.onTokens?.(modelId, delta.tokenCount));
          relayed.push(delta);
        }
        relayed.end(await source.result);
      } catch (error) {
        relayed.fail(error);
      }
    })();
    return relayed;
  }

  private track(started: StartedGeneration): StartedGeneration {
    const { modelId, stream } = started;
    // A cached answer ran no model: it is not a generation to measure.
    if (started.cache === "hit") return started;
    stream.result.then(
      (result) => {
        this.deps.metrics.recordGeneration(modelId, result);
        this.notify((observer) => observer.onFinished?.(modelId, result));
      },
      (error: unknown) => this.deps.logger.debug({ err: error, model: modelId }, "generation failed"),
    );
    return { ...started, stream: this.observers.size > 0 ? this.relay(modelId, stream) : stream };
  }
}
