interface ProgressBarProps {
  /** 0–1, or undefined while unknown (an indeterminate bar). */
  value: number | undefined;
  label: string;
  testId?: string;
  tone?: "accent" | "warning" | "danger";
}

/** A horizontal bar with role="progressbar" and its value for assistive technology. */
export function ProgressBar({ value, label, testId, tone = "accent" }: ProgressBarProps) {
  const percent = value === undefined ? undefined : Math.round(Math.max(0, Math.min(1, value)) * 1000) / 10;
  return (
    <div
      className={`progress progress-${tone}${percent === undefined ? " progress-indeterminate" : ""}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      {...(percent !== undefined ? { "aria-valuenow": percent } : {})}
      data-testid={testId}
    >
      <div className="progress-fill" style={{ width: percent === undefined ? "30%" : `${percent}%` }} />
    </div>
  );
}
