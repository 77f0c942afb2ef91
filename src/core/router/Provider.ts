import type { RerankResult } from "../inference/rerankTypes.js";
import type { ChatGenerationOptions, ChatMessage, EmbeddingInput, EmbeddingResult, GenerationOptions } from "../../shared/api/generation.js";
import type { ChatPromptOptions } from "../engine/LoadedModel.js";
import type { GenerationStream } from "../inference/GenerationStream.js";
import type { LocalModelOptions } from "../inference/inferenceTypes.js";
import type { RequestPriority } from "../engine/SequencePool.js";

/** What a model at a provider can do; unknown capabilities are assumed present. */
export interface ModelCapabilities {
  /** Chat and text completion. */
  chat: boolean;
  embeddings: boolean;
  tools: boolean;
  jsonSchema: boolean;
  /** Context length in tokens, when known. */
  contextLength?: number;
}

/** A model a provider serves. */
export interface ProviderModel {
  id: string;
  capabilities: ModelCapabilities;
  /** When the model appeared (ms since the epoch), when known. */
  createdAt?: number;
}

/** US dollars per million tokens. */
export interface TokenPrice {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** Options of one generation at a provider. */
export interface ProviderCallOptions {
  signal?: AbortSignal;
  local?: LocalModelOptions;
  /** Embeddings and reranking on this machine wait behind interactive requests when "background". Default: "interactive". */
  priority?: RequestPriority;
}

/**
 * Something that runs models: this machine's engine, or a remote OpenAI-compatible server.
 * Calls resolve once the generation has started; the router waits for its first token.
 */
export interface Provider {
  readonly id: string;
  readonly kind: "local" | "remote";
  readonly price: TokenPrice;
  /** Requests it may run at once; more go to other targets or wait. */
  readonly maxConcurrency: number;
  /** Its models (a remote's are discovered or configured). */
  listModels(): Promise<ProviderModel[]>;
  chat(modelId: string, messages: readonly ChatMessage[], options: ChatGenerationOptions & ProviderCallOptions): Promise<ProviderGeneration>;
  complete(modelId: string, prompt: string, options: GenerationOptions & ProviderCallOptions): Promise<ProviderGeneration>;
  embed(modelId: string, inputs: readonly EmbeddingInput[], options: ProviderCallOptions): Promise<EmbeddingResult & { modelId: string }>;
  /**
   * Scores documents against a query with a reranking model. Absent: the provider cannot rank
   * (the router refuses the request clearly).
   */
  rerank?(modelId: string, query: string, documents: readonly string[], options: ProviderCallOptions): Promise<RerankResult & { modelId: string }>;
  /**
   * Exact prompt tokens of a chat request (its messages and the tools its template renders).
   * Absent (remotes: OpenAI-compatible servers have no such call): the router estimates.
   */
  countChatTokens?(modelId: string, messages: readonly ChatMessage[], options: ChatPromptOptions & ProviderCallOptions): Promise<{ modelId: string; tokens: number }>;
  /** Resolves when the provider answers (a health probe); rejects with why not. */
  checkHealth(signal?: AbortSignal): Promise<void>;
  dispose(): void;
}

/** A generation a provider started. */
export interface ProviderGeneration {
  /** The model id at the provider, as it names it. */
  modelId: string;
  stream: GenerationStream;
}
