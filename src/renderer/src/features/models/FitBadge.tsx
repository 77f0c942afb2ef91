import type { FitEstimate } from "../../../../shared/api/hub.js";
import { Badge, type BadgeTone } from "../../components/Badge.js";
import { describeFitNumbers } from "./fitSummary.js";

const TONES: Record<FitEstimate["verdict"], BadgeTone> = { "fits on GPU": "success", "fits in RAM": "info", "too large": "danger" };

/** Whether a file fits this machine: the verdict, and its numbers in plain sight (the full reason as a tooltip). */
export function FitBadge({ fit }: { fit: FitEstimate | undefined }) {
  if (!fit) return <Badge title="The file's header could not be read">unknown fit</Badge>;
  return (
    <span className="fit" title={fit.reason}>
      <Badge tone={TONES[fit.verdict]} testId="fit-badge">
        {fit.verdict}
      </Badge>
      <span className="fit-numbers muted" data-testid="fit-numbers">
        {describeFitNumbers(fit)}
        {fit.basis === "file size" && " (by file size)"}
      </span>
    </span>
  );
}
