import type { ErrorCode } from "../shared/errorCodes.js";

export type { ErrorCode };

/** One message of a conversation. */
export type AIMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: AIToolCall[] }
  | { role: "tool"; toolCallId: string; content: string };

/** A tool the model may call: its JSON schema is sent as OpenAI's `function.parameters`. */
export interface AIToolSpec {
  name: string;
  description?: string;
  /** JSON schema of the arguments. Default: any object. */
  parameters?: Record<string, unknown>;
}

/** A tool call the model asked for; `arguments` is the model's JSON text, unparsed. */
export interface AIToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Routing hints sent as the server's `x-marduk-*` request headers. */
export interface AIRouting {
  /** The request must never leave the machine (`x-marduk-local-only: 1`). Default: false. */
  localOnly?: boolean;
  /** Keeps a conversation on one target so its prompt cache stays warm (`x-marduk-session`). Default: none. */
  session?: string;
  /** `false` bypasses the response cache (`x-marduk-cache: off`). Default: the server's setting. */
  cache?: boolean;
}

/** Options every call accepts. */
export interface AICallOptions {
  /** Cancels the call (and a running stream). Default: none. */
  signal?: AbortSignal;
  /** Per-attempt timeout in milliseconds. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
}

/** One generation request, the same for `generateResponse`, `streamResponse` and `runWithTools`. */
export interface AIRequest extends AICallOptions {
  /** Model id or alias. Default: the client's model (from `initialize` or the constructor). */
  model?: string;
  messages: AIMessage[];
  temperature?: number;
  topP?: number;
  topK?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  tools?: AIToolSpec[];
  /** Default: "auto" when tools are given. */
  toolChoice?: "auto" | "none" | "required" | { name: string };
  /** Constrains the answer to JSON matching this schema (OpenAI's `response_format: json_schema`). */
  jsonSchema?: { name?: string; schema: Record<string, unknown>; strict?: boolean };
  /** Asks a thinking model to think (or not). Default: the model's default. */
  reasoning?: { enabled?: boolean };
  routing?: AIRouting;
}

/** Token counts of a response (names as in src/shared/api/generation.ts). */
export interface AIUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  reasoningTokens?: number;
  cachedPromptTokens?: number;
}

export type AIFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | (string & {});

export interface AIResponse {
  text: string;
  /** The model's thinking, when the server returned it apart. */
  reasoning?: string;
  toolCalls: AIToolCall[];
  finishReason: AIFinishReason;
  usage?: AIUsage;
  /** The model that answered, as the server names it. */
  model: string;
  /** Who served it: the server's `x-marduk-provider` response header ("local" or a remote provider id). */
  provider?: string;
  /** The server's request id (`x-request-id`), when it sent one. */
  requestId?: string;
}

/** What `streamResponse` yields: deltas as they come, then the whole response once. */
export type AIStreamEvent =
  | { type: "text"; delta: string }
  | { type: "reasoning"; delta: string }
  | { type: "tool_call"; index: number; id?: string; name?: string; argumentsDelta: string }
  | { type: "done"; response: AIResponse };

/** What a client of a generation server does, whatever the server. */
export interface AIClient {
  initialize(options?: InitializeOptions): Promise<void>;
  generateResponse(request: AIRequest): Promise<AIResponse>;
  cleanup(): Promise<void>;
}

/** Progress of `initialize` (a pull reports bytes). */
export interface InitializeProgress {
  status: string;
  completedBytes?: number;
  totalBytes?: number;
}

export interface InitializeOptions extends AICallOptions {
  /** Model to make ready (loaded) and to use by default. Default: none (nothing is loaded). */
  model?: string;
  /** Download the model through the server (`/api/pull`) when it is not installed. Default: false. */
  pull?: boolean;
  onProgress?: (progress: InitializeProgress) => void;
}
