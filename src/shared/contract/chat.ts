import type { ErrorPayload } from "../errorCodes.js";
import type { StoredMessage } from "./conversations.js";
import type { EventSource } from "./common.js";

/** A generation started by the chat group; its output arrives as {@link ChatStreamEvent}s. */
export interface StartedChatGeneration {
  generationId: string;
  conversationId: string;
  /** The user message that was stored (absent for regenerate). */
  userMessage?: StoredMessage;
  /** The id the assistant message will have once stored. */
  assistantMessageId: string;
}

export type ChatStreamEvent =
  /** Answer text and, apart from it, the model's thinking (absent: none in this piece). */
  | { type: "delta"; generationId: string; conversationId: string; text: string; reasoning?: string; tokenCount: number }
  /** The assistant message was stored (also after stop, with what was generated). */
  | { type: "done"; generationId: string; conversationId: string; message: StoredMessage }
  | { type: "error"; generationId: string; conversationId: string; error: ErrorPayload };

/** The chat group: generate replies in stored conversations. */
export interface ChatApi {
  /** Stores the user's message and generates the reply with the conversation's model and settings. */
  send(request: { conversationId: string; content: string }): Promise<StartedChatGeneration>;
  /** Adds a new version of the last assistant reply (the previous ones stay, see `StoredMessage.versionIds`). */
  regenerate(request: { conversationId: string }): Promise<StartedChatGeneration>;
  /** Answers the last user message again after its send failed (the message is not stored twice). */
  retry(request: { conversationId: string }): Promise<StartedChatGeneration>;
  /** Makes a new version (a branch) of a user message with the new text, and generates its reply. */
  editAndResend(request: { conversationId: string; messageId: string; content: string }): Promise<StartedChatGeneration>;
  /** Stops a generation; what was generated is kept. */
  stop(request: { generationId: string }): Promise<void>;
  /** How many tokens the conversation uses, and the loaded model's context size (the usage bar). */
  contextUsage(request: { conversationId: string }): Promise<{ usedTokens: number; contextSize: number | null }>;
  onEvent: EventSource<ChatStreamEvent>;
}
