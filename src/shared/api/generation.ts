/** Wire-level types of the generation API (engine, HTTP adapters and UI all speak them). */

export type ChatRole = "system" | "user" | "assistant" | "tool";

/** A JSON Schema object, as sent by clients. */
export type JsonSchema = Record<string, unknown>;

/** A function the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. Default: any object. */
  parameters?: JsonSchema;
}

/** "auto": the model decides; "none": no calls; "required" or a name: the reply is a call. */
export type ToolChoice = "auto" | "none" | "required" | { name: string };

/** A call the model made. */
export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as a JSON text. */
  arguments: string;
}

/**
 * A piece of a tool call as it is generated: the first piece of a call has its id and name,
 * the next ones more of its arguments' JSON text (the pieces' arguments, joined, are the call's).
 */
export interface ToolCallDelta {
  /** Which call of the reply (0 for the first). */
  index: number;
  id?: string;
  name?: string;
  /** More of the arguments' JSON text ("" for none yet). */
  arguments: string;
}

/** Constrains the reply's shape: free text, any JSON object, or JSON matching a schema. */
export type ResponseFormat = { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: JsonSchema; name?: string };

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Calls made by an assistant message. */
  toolCalls?: ToolCall[];
  /** For role "tool": the call this message answers. */
  toolCallId?: string;
}

export type FinishReason = "stop" | "length" | "abort" | "tool_calls";

export interface GenerationUsage {
  promptTokens: number;
  /** Every generated token, thinking included. */
  completionTokens: number;
  /** Of the completion tokens, those spent thinking (models with a thinking section). Absent: none. */
  reasoningTokens?: number;
  /** Of the prompt tokens, those reused from the cache (not evaluated again). Absent: unknown. */
  cachedPromptTokens?: number;
}

export interface GenerationTimings {
  /** Milliseconds spent evaluating the prompt (from the start of evaluation to the first generated token). */
  promptMs: number;
  /** Milliseconds from the call to the first generated token, including any wait for a free sequence. */
  firstTokenMs: number;
  /** Generated tokens per second after the first token (0 when fewer than two tokens were generated). */
  decodeTokensPerSecond: number;
}

export interface GenerationResult {
  /** The answer (never the thinking). */
  text: string;
  /** The model's thinking, apart from the answer (models whose template has a thinking section). Absent: none. */
  reasoning?: string;
  finishReason: FinishReason;
  /** The stop string that ended the generation (finishReason "stop"), when one did. Absent: none, or not known (a remote). */
  stopSequence?: string;
  /** Calls the model made (finishReason "tool_calls"). */
  toolCalls?: ToolCall[];
  usage: GenerationUsage;
  timings: GenerationTimings;
  /** Speculative decoding's work, when it ran for this generation. */
  speculation?: SpeculationStats;
}

/** Drafted tokens the model checked, and how many it accepted (acceptance rate = accepted / drafted). */
export interface SpeculationStats {
  draftedTokens: number;
  acceptedTokens: number;
}

/** One piece of streamed output. */
export interface GenerationDelta {
  /** Answer text. */
  text: string;
  /** Thinking text of this delta, apart from the answer. Absent: none. */
  reasoning?: string;
  /** How many tokens this delta carries (text may be held back while a stop string could still match). */
  tokenCount: number;
  /** A piece of a tool call, streamed as it is generated (a forced call). Absent: none. */
  toolCall?: ToolCallDelta;
}

/** Sampling and stopping options of one generation. Every field is optional. */
export interface GenerationOptions {
  /** Maximum tokens to generate. Default: what is left of the sequence's context. */
  maxTokens?: number;
  /** Sampling temperature, 0–2. 0 means greedy. Default: 0.8. */
  temperature?: number;
  /** Nucleus sampling, 0–1. Default: 0.95. */
  topP?: number;
  /** Top-k sampling, ≥ 0 (0 disables). Default: 40. */
  topK?: number;
  /** Min-p sampling, 0–1. Default: 0.05. */
  minP?: number;
  /** Repetition penalty over the last 64 tokens, ≥ 0 (1 disables). Default: 1 (off, as OpenAI and llama-server). */
  repeatPenalty?: number;
  /** OpenAI-style presence penalty, −2–2. Default: 0. */
  presencePenalty?: number;
  /** OpenAI-style frequency penalty, −2–2. Default: 0. */
  frequencyPenalty?: number;
  /** Sampling seed for reproducible output. Default: random. */
  seed?: number;
  /** Strings that end the generation; they are not part of the output. Default: none. At most 16. */
  stop?: string[];
  /** Keep generating past end-of-generation tokens (for benchmarks). Default: false. */
  ignoreEos?: boolean;
  /**
   * Speculative decoding for this generation, on a model loaded with it (load option
   * `speculative`); false turns it off, true on a model loaded without it is refused.
   * Default: the model's.
   */
  speculative?: boolean;
}

/** Options of a chat generation: sampling plus output constraints and tools. */
export interface ChatGenerationOptions extends GenerationOptions {
  /** Default: free text. */
  responseFormat?: ResponseFormat;
  /** Functions the model may call. Default: none. */
  tools?: ToolDefinition[];
  /** Default: "auto" when tools are given. */
  toolChoice?: ToolChoice;
  /** Thinking, for models whose template has a thinking section. Default: as the model's template does it, unbounded. */
  reasoning?: ReasoningOptions;
}

/** How much a thinking model may think. Every field is optional. */
export interface ReasoningOptions {
  /** false: no thinking at all (a budget of 0). Default: true. */
  enabled?: boolean;
  /** Most tokens the thinking may take; then the model must answer. Default: no limit beyond maxTokens. */
  maxTokens?: number;
}

/** One input to embed: a text, or token ids of the model's vocabulary (as OpenAI accepts). */
export type EmbeddingInput = string | readonly number[];

/** Result of embedding one or more texts. */
export interface EmbeddingResult {
  embeddings: number[][];
  promptTokens: number;
  /** llama.cpp evaluations the inputs took (fewer than the inputs when they were batched); absent from remote providers. */
  evaluations?: number;
}
