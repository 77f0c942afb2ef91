import type { StreamingReply } from "./chatStore.js";

/** Live numbers of a streaming reply: tokens so far, tokens/s after the first, time to first token. */
export function liveStats(reply: StreamingReply): { tokens: number; tokensPerSecond: number | null; timeToFirstTokenMs: number | null } {
  const ttft = reply.firstTokenAt !== undefined ? reply.firstTokenAt - reply.startedAt : null;
  const elapsed = reply.firstTokenAt !== undefined && reply.lastTokenAt !== undefined ? (reply.lastTokenAt - reply.firstTokenAt) / 1000 : 0;
  return { tokens: reply.tokenCount, tokensPerSecond: elapsed > 0 ? reply.tokenCount / elapsed : null, timeToFirstTokenMs: ttft };
}
