import type { ResponseFormat } from "../api/generation.js";
import type { EventSource } from "./common.js";

/**
 * What a conversation does when its history no longer fits the model's context:
 * - "stopAtLimit": send everything; a reply stops where the context ends (max tokens "auto" is what is left).
 * - "truncateMiddle": keep the system prompt, the first exchange and the latest messages; drop the middle.
 * - "rollingWindow": drop the oldest messages after the system prompt.
 */
export type ContextOverflowPolicy = "stopAtLimit" | "truncateMiddle" | "rollingWindow";

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
  /** When the history outgrows the context. Default: "truncateMiddle" (see BUILT_IN_CHAT_SETTINGS). */
  contextOverflow?: ContextOverflowPolicy;
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
  /** "failed": a user message whose reply failed (retry or delete it). Absent: fine. */
  status?: "failed";
  /**
   * The versions of this message (its siblings: regenerated replies, edited user messages), in
   * the order they were made, this one included. Absent: the only version.
   */
  versionIds?: string[];
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
  /** Shows another version of a message (and the history that goes with it); later sends continue from it. */
  selectVersion(request: { conversationId: string; messageId: string }): Promise<Conversation>;
  /** Deletes a message with everything after it on every branch (a failed send's user message). */
  deleteMessage(request: { conversationId: string; messageId: string }): Promise<Conversation>;
  /** The conversation as a file: JSON (everything) or Markdown (readable). */
  export(request: { id: string; format: "json" | "markdown" }): Promise<{ fileName: string; mimeType: string; content: string }>;
  /** The list changed (created, renamed, removed, new message). */
  onChanged: EventSource<ConversationSummary[]>;
}
