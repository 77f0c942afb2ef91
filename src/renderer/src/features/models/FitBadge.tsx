import type { FitEstimate } from "../../../../shared/api/hub.js";
import { Badge, type BadgeTone } from "../../components/Badge.js";

const TONES: Record<FitEstimate["verdict"], BadgeTone> = { "fits on GPU": "success", "fits in RAM": "info", "too large": "danger" };

/** Whether a file fits this machine, with the reason as a tooltip. */
export function FitBadge({ fit }: { fit: FitEstimate | undefined }) {
  if (!fit) return <Badge title="The file's header could not be read">unknown fit</Badge>;
  return (
    <Badge tone={TONES[fit.verdict]} title={fit.reason} testId="fit-badge">
      {fit.verdict}
    </Badge>
  );
}
