import type { ResponseFormat } from "../api/generation.js";
import type { EventSource } from "./common.js";

/** The sampling and output settings of a conversation (the chat playground's panel). */
export interface ChatSettings {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repeatPenalty?: number;
  maxTokens?: number;
  seed?: number;
  stop?: string[];
  /** Keep generating past the end-of-generation token until maxTokens or the context is full (benchmarks, tests). Default: false. */
  ignoreEos?: boolean;
  /** Constrain replies to JSON (the JSON-schema output mode). Default: free text. */
  responseFormat?: ResponseFormat;
}

/** Per-message generation statistics. */
export interface MessageStats {
  promptTokens: number;
  /** Every generated token, thinking included. */
  completionTokens: number;
  /** Of the completion tokens, those spent thinking. Absent: none or unknown. */
  reasoningTokens?: number;
  timeToFirstTokenMs: number;
  decodeTokensPerSecond: number;
  finishReason: "stop" | "length" | "abort" | "tool_calls";
}

export interface StoredMessage {
  id: string;
  role: "user" | "assistant";
  /** The text; for an assistant message, the answer only (never the thinking). */
  content: string;
  /** An assistant message's thinking, kept apart from its answer and never sent back to the model. Absent: none. */
  reasoning?: string;
  createdAt: number;
  /** The model that wrote an assistant message. */
  modelId?: string;
  stats?: MessageStats;
}

export interface ConversationSummary {
  id: string;
  title: string;
  modelId?: string;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
}

export interface Conversation extends ConversationSummary {
  systemPrompt: string;
  settings: ChatSettings;
  messages: StoredMessage[];
}

/** The conversations group: chats persisted by the core in SQLite. */
export interface ConversationsApi {
  list(): Promise<ConversationSummary[]>;
  get(request: { id: string }): Promise<Conversation>;
  create(request: { title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings }): Promise<Conversation>;
  update(request: { id: string; title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings }): Promise<Conversation>;
  remove(request: { id: string }): Promise<void>;
  /** The conversation as a file: JSON (everything) or Markdown (readable). */
  export(request: { id: string; format: "json" | "markdown" }): Promise<{ fileName: string; mimeType: string; content: string }>;
  /** The list changed (created, renamed, removed, new message). */
  onChanged: EventSource<ConversationSummary[]>;
}
