import type { ChatMessage } from "../../shared/api/generation.js";
import type { ContextOverflowPolicy } from "../../shared/contract/conversations.js";
import { ContextLengthExceededError } from "../errors.js";

/** Counts the tokens a message list takes with the model's chat template (exactly: the door's count). */
export type ChatTokenCounter = (messages: readonly ChatMessage[]) => Promise<number>;

export interface FitToContextOptions {
  policy: ContextOverflowPolicy;
  contextSize: number;
  /** The user's max tokens; undefined is "auto" (whatever is left of the context). */
  maxTokens?: number;
  /**
   * Tokens kept free for the reply when messages are dropped and max tokens is auto. Default:
   * a quarter of the context, at most 1,024 (room to answer without dropping most of the history).
   */
  replyReserve?: number;
  count: ChatTokenCounter;
}

export interface FittedPrompt {
  /** The messages to send (the system prompt first when there is one). */
  messages: ChatMessage[];
  /** How many messages were dropped. */
  dropped: number;
  promptTokens: number;
  /** The reply's token limit: never past the end of the context. */
  maxTokens: number;
}

/**
 * Makes a chat history fit a model's context by its conversation's overflow policy:
 * - "stopAtLimit" sends everything and lets the reply run to the context's end;
 * - "truncateMiddle" keeps the system prompt, the first exchange and the newest messages;
 * - "rollingWindow" keeps the system prompt and the newest messages.
 * The last message (the one being answered) is always kept; when even it does not fit, a
 * ContextLengthExceededError says so. Counts are recomputed after each drop: a chat template
 * adds tokens per message, so the sum of single counts would be wrong.
 */
export async function fitToContext(history: readonly ChatMessage[], options: FitToContextOptions): Promise<FittedPrompt> {
  const { policy, contextSize, count } = options;
  const system = history[0]?.role === "system" ? [history[0]] : [];
  const turns = history.slice(system.length);
  const reserve = Math.max(1, Math.min(options.maxTokens ?? options.replyReserve ?? Math.min(1024, Math.floor(contextSize / 4)), contextSize - 1));
  // Kept at the start whatever happens: the first exchange under truncateMiddle (never the last message).
  const pinned = policy === "truncateMiddle" ? Math.min(2, Math.max(0, turns.length - 1)) : 0;
  let dropped = 0;
  let messages = [...system, ...turns];
  let promptTokens = await count(messages);
  if (policy !== "stopAtLimit") {
    while (promptTokens + reserve > contextSize && pinned + dropped < turns.length - 1) {
      dropped++;
      messages = [...system, ...turns.slice(0, pinned), ...turns.slice(pinned + dropped)];
      promptTokens = await count(messages);
    }
  }
  const left = contextSize - promptTokens;
  if (left < 1) throw new ContextLengthExceededError(promptTokens, options.maxTokens ?? 0, contextSize);
  return { messages, dropped, promptTokens, maxTokens: Math.min(options.maxTokens ?? left, left) };
}
