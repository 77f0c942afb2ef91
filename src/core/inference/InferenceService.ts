import type { ChatMessage, EmbeddingResult, GenerationOptions, GenerationResult } from "../../shared/api/generation.js";
import { GenerationStream } from "../engine/GenerationStream.js";
import type { ChatCallOptions } from "../engine/LoadedModel.js";
import type { ModelLoadOptions } from "../engine/Engine.js";
import type { ModelLease, ModelResidency } from "../engine/ModelResidency.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../telemetry/Metrics.js";

/** Per-request options every protocol adapter can pass. */
export interface InferenceRequestOptions {
  /** Aborts the work; a client that disconnects aborts its generation. */
  signal?: AbortSignal;
  /** How long the model stays loaded after this request (Ollama's keep_alive), in ms. */
  keepAliveMs?: number;
  /** Load options used if this request has to load the model (e.g. Ollama's num_ctx). */
  load?: ModelLoadOptions;
}

/** A started generation and the id of the model that runs it. */
export interface StartedGeneration {
  modelId: string;
  stream: GenerationStream;
}

/** Learns about every generation as it runs (the live dashboards). Methods must not throw. */
export interface GenerationObserver {
  /** Tokens were generated, reported as they stream. */
  onTokens?(modelId: string, tokenCount: number): void;
  /** A generation ended (also a stopped one, with finish reason "abort"); failures are not reported. */
  onFinished?(modelId: string, result: GenerationResult): void;
}

/**
 * The one place where requests become generations, whatever the protocol (OpenAI, Ollama,
 * the UI): it loads the model just in time, pins it for the request, and records metrics.
 */
export class InferenceService {
  private readonly observers = new Set<GenerationObserver>();

  constructor(
    private readonly residency: ModelResidency,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async chat(modelId: string, messages: readonly ChatMessage[], options: ChatCallOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    const { keepAliveMs, load, ...chatOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs, load });
    return this.track(lease, () => lease.model.chat(messages, chatOptions));
  }

  async complete(modelId: string, prompt: string, options: GenerationOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    const { keepAliveMs, load, ...completionOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs, load });
    return this.track(lease, () => lease.model.complete(prompt, completionOptions));
  }

  async embed(modelId: string, inputs: readonly string[], options: InferenceRequestOptions = {}): Promise<EmbeddingResult & { modelId: string }> {
    const lease = await this.residency.acquire(modelId, { keepAliveMs: options.keepAliveMs, load: options.load });
    try {
      const result = await lease.model.embed(inputs, options.signal);
      this.metrics.recordEmbedding(lease.model.id, result.promptTokens);
      return { ...result, modelId: lease.model.id };
    } finally {
      lease.release();
    }
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
        this.logger.warn({ err: error }, "generation observer failed");
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

  private track(lease: ModelLease, start: () => GenerationStream): StartedGeneration {
    let stream: GenerationStream;
    try {
      stream = start();
    } catch (error) {
      lease.release();
      throw error;
    }
    const modelId = lease.model.id;
    stream.result.then(
      (result) => {
        lease.release();
        this.metrics.recordGeneration(modelId, result);
        this.notify((observer) => observer.onFinished?.(modelId, result));
      },
      (error: unknown) => {
        lease.release();
        this.logger.debug({ err: error, model: modelId }, "generation failed");
      },
    );
    return { modelId, stream: this.observers.size > 0 ? this.relay(modelId, stream) : stream };
  }
}
