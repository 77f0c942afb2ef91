import type { MessageStats } from "../../../../shared/contract/index.js";
import { formatMs, formatRate } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";

const FINISH_LABELS: Record<MessageStats["finishReason"], string> = {
  stop: "finished",
  length: "hit the token limit",
  abort: "stopped",
  tool_calls: "tool call",
};

/** Tokens, tokens/s and time to first token of a reply. */
export function MessageStatsLine({ stats }: { stats: MessageStats }) {
  return (
    <div className="message-stats" data-testid="message-stats">
      <span data-testid="stat-tokens">{countOf(stats.completionTokens, "token")}</span>
      <span data-testid="stat-rate">{formatRate(stats.decodeTokensPerSecond)} tok/s</span>
      <span data-testid="stat-ttft">TTFT {formatMs(stats.timeToFirstTokenMs)}</span>
      <span data-testid="stat-finish">{FINISH_LABELS[stats.finishReason]}</span>
    </div>
  );
}
