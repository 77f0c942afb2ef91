import type { ReactNode } from "react";

/** A big number with a label and a detail line. */
export function StatTile({ label, value, detail, testId }: { label: string; value: ReactNode; detail?: ReactNode; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </div>
      {detail && <div className="stat-detail">{detail}</div>}
    </div>
  );
}
