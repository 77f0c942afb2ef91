import type { RerankResult } from "../inference/rerankTypes.js";
import type { ChatGenerationOptions, ChatMessage, EmbeddingInput, EmbeddingResult, GenerationOptions } from "../../shared/api/generation.js";
import type { ChatPromptOptions } from "../engine/LoadedModel.js";
import type { ModelLease, ModelResidency } from "../engine/ModelResidency.js";
import type { GenerationStream } from "../inference/GenerationStream.js";
import type { ModelLibrary } from "../models/ModelLibrary.js";
import type { Provider, ProviderCallOptions, ProviderGeneration, ProviderModel } from "./Provider.js";

/** The provider id of this machine. */
export const LOCAL_PROVIDER_ID = "local";

/**
 * This machine's engine as a provider: models of the models folder (and ones loaded from
 * elsewhere at start), loaded just in time and pinned for each request.
 */
export class LocalProvider implements Provider {
  readonly id = LOCAL_PROVIDER_ID;
  readonly kind = "local";
  readonly price = { inputPerMillion: 0, outputPerMillion: 0 };
  // The engine's own queue bounds local work (429/503 when it is full): the router never holds requests back.
  readonly maxConcurrency = Number.POSITIVE_INFINITY;

  constructor(
    private readonly residency: ModelResidency,
    private readonly library: ModelLibrary,
  ) {}

  async listModels(): Promise<ProviderModel[]> {
    const loaded = new Map(this.residency.loadedModels().map((model) => [model.id, model]));
    const models: ProviderModel[] = (await this.library.list())
      .filter((model) => model.status === "ok" && model.kind === "model")
      .map((model) => ({
        id: model.id,
        createdAt: model.modifiedAt,
        capabilities: {
          chat: model.capabilities.includes("completion"),
          embeddings: model.capabilities.includes("embedding"),
          tools: true,
          jsonSchema: true,
          // A loaded model's context is what limits a prompt now.
          contextLength: loaded.get(model.id)?.contextSize ?? model.contextLength,
        },
      }));
    const listed = new Set(models.map((model) => model.id));
    for (const model of loaded.values()) {
      if (listed.has(model.id)) continue;
      models.push({ id: model.id, createdAt: model.loadedAt, capabilities: { chat: true, embeddings: true, tools: true, jsonSchema: true, contextLength: model.contextSize } });
    }
    return models;
  }

  async chat(modelId: string, messages: readonly ChatMessage[], options: ChatGenerationOptions & ProviderCallOptions): Promise<ProviderGeneration> {
    const { local, ...chatOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs: local?.keepAliveMs, load: local?.load });
    return this.started(lease, () => lease.model.chat(messages, chatOptions));
  }

  async complete(modelId: string, prompt: string, options: GenerationOptions & ProviderCallOptions): Promise<ProviderGeneration> {
    const { local, ...completionOptions } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs: local?.keepAliveMs, load: local?.load });
    return this.started(lease, () => lease.model.complete(prompt, completionOptions));
  }

  async embed(modelId: string, inputs: readonly EmbeddingInput[], options: ProviderCallOptions): Promise<EmbeddingResult & { modelId: string }> {
    const lease = await this.residency.acquire(modelId, { keepAliveMs: options.local?.keepAliveMs, load: options.local?.load });
    try {
      return { ...(await lease.model.embed(inputs, { signal: options.signal, priority: options.priority })), modelId: lease.model.id };
    } finally {
      lease.release();
    }
  }

  async rerank(modelId: string, query: string, documents: readonly string[], options: ProviderCallOptions): Promise<RerankResult & { modelId: string }> {
    const lease = await this.residency.acquire(modelId, { keepAliveMs: options.local?.keepAliveMs, load: options.local?.load });
    try {
      return { ...(await lease.model.rerank(query, documents, { signal: options.signal, priority: options.priority })), modelId: lease.model.id };
    } finally {
      lease.release();
    }
  }

  async countChatTokens(
    modelId: string,
    messages: readonly ChatMessage[],
    options: ChatPromptOptions & ProviderCallOptions,
  ): Promise<{ modelId: string; tokens: number }> {
    const { signal: _signal, local, ...prompt } = options;
    const lease = await this.residency.acquire(modelId, { keepAliveMs: local?.keepAliveMs, load: local?.load });
    try {
      return { modelId: lease.model.id, tokens: await lease.model.countChatTokens(messages, prompt) };
    } finally {
      lease.release();
    }
  }

  async checkHealth(): Promise<void> {
    // Each model's host process is watched by its own watchdog, and a crash fails only that
    // model's requests: this machine is as healthy as the server answering.
  }

  dispose(): void {
    // The residency and engine belong to the core.
  }

  /** Holds the lease until the generation ends, however it ends. */
  private started(lease: ModelLease, start: () => GenerationStream): ProviderGeneration {
    let stream: GenerationStream;
    try {
      stream = start();
    } catch (error) {
      lease.release();
      throw error;
    }
    stream.result.then(
      () => lease.release(),
      () => lease.release(),
    );
    return { modelId: lease.model.id, stream };
  }
}
