import type { ChatMessage, EmbeddingResult, GenerationOptions } from "../../shared/api/generation.js";
import type { GenerationStream } from "../engine/GenerationStream.js";
import type { ChatCallOptions } from "../engine/LoadedModel.js";
import type { ModelLease, ModelResidency } from "../engine/ModelResidency.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../telemetry/Metrics.js";

/** Per-request options every protocol adapter can pass. */
export interface InferenceRequestOptions {
  /** Aborts the work; a client that disconnects aborts its generation. */
  signal?: AbortSignal;
  /** How long the model stays loaded after this request (Ollama's keep_alive), in ms. */
  keepAliveMs?: number;
}

/** A started generation and the id of the model that runs it. */
export interface StartedGeneration {
  modelId: string;
  stream: GenerationStream;
}

/**
 * The one place where requests become generations, whatever the protocol (OpenAI, Ollama,
 * the UI): it loads the model just in time, pins it for the request, and records metrics.
 */
export class InferenceService {
  constructor(
    private readonly residency: ModelResidency,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async chat(modelId: string, messages: readonly ChatMessage[], options: ChatCallOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    const { keepAliveMs, ...chatOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs });
    return this.track(lease, () => lease.model.chat(messages, chatOptions));
  }

  async complete(modelId: string, prompt: string, options: GenerationOptions & InferenceRequestOptions = {}): Promise<StartedGeneration> {
    const { keepAliveMs, ...completionOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs });
    return this.track(lease, () => lease.model.complete(prompt, completionOptions));
  }

  async embed(modelId: string, inputs: readonly string[], options: InferenceRequestOptions = {}): Promise<EmbeddingResult & { modelId: string }> {
    const lease = await this.residency.acquire(modelId, { keepAliveMs: options.keepAliveMs });
    try {
      const result = await lease.model.embed(inputs, options.signal);
      this.metrics.recordEmbedding(lease.model.id, result.promptTokens);
      return { ...result, modelId: lease.model.id };
    } finally {
      lease.release();
    }
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
      },
      (error: unknown) => {
        lease.release();
        this.logger.debug({ err: error, model: modelId }, "generation failed");
      },
    );
    return { modelId, stream };
  }
}
