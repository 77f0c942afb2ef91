import type { ChatMessage } from "../../shared/api/generation.js";

/**
 * A rough token count where no tokenizer is at hand (a remote model, a model not loaded):
 * about 4 characters a token, as for English text with common BPE vocabularies.
 */
export function estimateTokenCount(text: string): number {
  return Math.ceil(text.length / 4);
}

/** {@link estimateTokenCount} of the messages' contents together. */
export function estimateChatTokenCount(messages: readonly ChatMessage[]): number {
  return Math.ceil(messages.reduce((sum, message) => sum + message.content.length, 0) / 4);
}
