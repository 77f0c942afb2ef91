import { useEffect, useState } from "react";
import { formatCount } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";

/** "Thought for N tokens" when the count is known, else "Thinking". */
export function thinkingSummary(tokens: number | undefined): string {
  if (!tokens) return "Thinking";
  return `Thought for ${countOf(tokens, "token", undefined, formatCount)}`;
}

interface ThinkingBlockProps {
  /** The thinking text (plain text: a model's scratch work is not worth rendering as Markdown). */
  reasoning: string;
  /** The disclosure's label. */
  summary: string;
  /** The thinking is still streaming in (the label pulses). Default: false. */
  live?: boolean;
  /**
   * Collapses the block when this turns true (the answer started), whatever the user opened.
   * Default: false.
   */
  collapseWhen?: boolean;
}

/**
 * A reply's thinking, collapsed above its answer. A native `<details>`/`<summary>`: keyboard and
 * screen readers handle it as a disclosure without any ARIA of ours.
 */
export function ThinkingBlock({ reasoning, summary, live = false, collapseWhen = false }: ThinkingBlockProps) {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (collapseWhen) setOpen(false);
  }, [collapseWhen]);
  return (
    <details className={`thinking${live ? " thinking-live" : ""}`} data-testid="thinking" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary className="thinking-summary" data-testid="thinking-summary">
        {summary}
      </summary>
      <div className="thinking-content message-plain" data-testid="thinking-content">
        {/* Templates put newlines around the thought: they would show as blank lines. */}
        {reasoning.trim()}
      </div>
    </details>
  );
}
