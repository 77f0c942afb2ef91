import { useLayoutEffect } from "react";
import { useChat } from "../../app/StoresContext.js";
import { formatMs, formatRate } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";
import { liveStats } from "./liveStats.js";
import { ThinkingBlock, thinkingSummary } from "./ThinkingBlock.js";

/**
 * The reply being generated, as plain text: it updates once per frame with everything that
 * arrived since the last one, and nothing else on the page re-renders. A thinking model's
 * thinking streams into a collapsed block above the answer, which collapses again when the
 * answer starts. The stored message (with Markdown) replaces it when the reply ends.
 */
export function StreamingMessage({ onGrow }: { onGrow: () => void }) {
  const reply = useChat((state) => state.streaming);
  const modelId = useChat((state) => state.active?.modelId);
  useLayoutEffect(onGrow, [reply?.text, reply?.reasoning, onGrow]);
  if (!reply) return null;
  const stats = liveStats(reply);
  const answering = reply.text !== "";
  return (
    <li className="message message-assistant message-streaming" data-testid="streaming-message" aria-busy="true">
      <div className="message-role">{modelId ?? "Assistant"}</div>
      {reply.reasoning !== "" && (
        <ThinkingBlock
          reasoning={reply.reasoning}
          summary={answering ? thinkingSummary(reply.reasoningTokenCount) : "Thinking…"}
          live={!answering}
          collapseWhen={answering}
        />
      )}
      <div className="message-content message-plain" data-testid="streaming-content">
        {reply.text}
        <span className="cursor" aria-hidden="true" />
      </div>
      <div className="message-footer">
        <div className="message-stats" data-testid="live-stats">
          {reply.firstTokenAt === undefined ? (
            <span>{reply.stopRequested ? "stopping…" : "starting…"}</span>
          ) : (
            <>
              <span>{countOf(stats.tokens, "token")}</span>
              <span>{formatRate(stats.tokensPerSecond)} tok/s</span>
              <span>TTFT {formatMs(stats.timeToFirstTokenMs)}</span>
              {reply.stopRequested && <span>stopping…</span>}
            </>
          )}
        </div>
      </div>
    </li>
  );
}
