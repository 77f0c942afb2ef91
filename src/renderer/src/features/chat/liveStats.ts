import type { ContextUsage, StreamingReply } from "./chatStore.js";

/**
 * Live numbers of a streaming reply: tokens so far, tokens/s after the first, time to first
 * token. The time to first token runs from the user's send to the first streamed token (queue
 * wait and model load included): the definition the stored reply's stats use too (the core
 * measures it from receiving the send), so the live and the final figure agree.
 */
export function liveStats(reply: StreamingReply): { tokens: number; tokensPerSecond: number | null; timeToFirstTokenMs: number | null } {
  const ttft = reply.firstTokenAt !== undefined ? reply.firstTokenAt - reply.startedAt : null;
  const elapsed = reply.firstTokenAt !== undefined && reply.lastTokenAt !== undefined ? (reply.lastTokenAt - reply.firstTokenAt) / 1000 : 0;
  return { tokens: reply.tokenCount, tokensPerSecond: elapsed > 0 ? reply.tokenCount / elapsed : null, timeToFirstTokenMs: ttft };
}

/**
 * The context the conversation fills right now: the stored history's count (read from the core
 * after the send) plus the tokens of the reply streaming into it, so the bar grows with the reply.
 * Once the reply is stored the core's count includes it and the stream is gone.
 */
export function liveContextUsage(usage: ContextUsage | null, streaming: StreamingReply | null, conversationId: string | undefined): ContextUsage | null {
  if (!usage) return null;
  if (!streaming || streaming.conversationId !== conversationId || streaming.tokenCount === 0) return usage;
  return { ...usage, usedTokens: usage.usedTokens + streaming.tokenCount };
}
