import type { ReactNode } from "react";

export type BadgeTone = "neutral" | "success" | "info" | "warning" | "danger" | "accent";

/** A small coloured label. */
export function Badge({ tone = "neutral", children, title, testId }: { tone?: BadgeTone; children: ReactNode; title?: string; testId?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title} data-testid={testId}>
      {children}
    </span>
  );
}
