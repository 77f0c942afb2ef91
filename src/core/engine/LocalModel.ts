import type { ChatMessage, EmbeddingInput, EmbeddingResult } from "../../shared/api/generation.js";
import type { MardukError } from "../errors.js";
import type { GenerationStream } from "../inference/GenerationStream.js";
import type { RerankResult } from "../inference/rerankTypes.js";
import type { ChatCallOptions, ChatPromptOptions, EncoderCallOptions, GenerateCallOptions, LoadedModelInfo, ModelLoadStats } from "./LoadedModel.js";
import type { SequencePoolState } from "./SequencePool.js";

/**
 * A model loaded on this machine, as the rest of the core uses it: in this process
 * ({@link LoadedModel}) or in a model host process of its own ({@link HostedModel}).
 */
export interface LocalModel {
  readonly id: string;
  /** The GGUF file it was loaded from (the first part of a split model). */
  readonly path: string;
  /** ms since the epoch. */
  readonly loadedAt: number;
  /** Context size of each sequence, in tokens. */
  readonly contextSize: number;
  /** Sequences busy and requests waiting for one, now. */
  readonly sequences: SequencePoolState;
  readonly stats: ModelLoadStats;
  readonly info: LoadedModelInfo;
  /**
   * Generates the assistant's reply to a conversation. Errors of the request (bad options, a
   * prompt too long) either throw here or fail the stream before it starts.
   */
  chat(messages: readonly ChatMessage[], options?: ChatCallOptions): GenerationStream;
  /** Continues a raw prompt, with no chat template. */
  complete(prompt: string, options?: GenerateCallOptions): GenerationStream;
  /** Embeds texts (a separate embedding context, created on first use). */
  embed(inputs: readonly EmbeddingInput[], options?: EncoderCallOptions): Promise<EmbeddingResult>;
  /** Scores documents' relevance to a query (the model must have a ranking head, else InvalidArgumentError param `model`). */
  rerank(query: string, documents: readonly string[], options?: EncoderCallOptions): Promise<RerankResult>;
  /** Exact tokens a conversation takes in the model's chat template (with the tools it renders, if given). */
  countChatTokens(messages: readonly ChatMessage[], options?: ChatPromptOptions): Promise<number>;
  /**
   * Registers a listener for the model's sudden end (its host process died); returns the
   * function that removes it. A model in this process never crashes alone, so it may omit this.
   */
  onCrashed?(listener: (error: MardukError) => void): () => void;
  /** Refuses new work, ends running generations (finish reason "abort") and frees the model. */
  dispose(): Promise<void>;
}
