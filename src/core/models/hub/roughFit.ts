import type { FitEstimate, MachineResources } from "../../../shared/api/hub.js";
import { DEFAULT_ESTIMATE_CONTEXT_SIZE, fitVerdict } from "./fitEstimate.js";
import { roughMemoryNeed, type PickQuantizationOptions } from "./pickQuantization.js";

/**
 * A fit verdict from a model's download size alone (all parts of a split model), for when its
 * header cannot be read: the same size-based need {@link roughMemoryNeed} that picks
 * quantizations, on the CPU or all on the GPU. Marked `basis: "file size"`.
 */
export function roughFitEstimate(
  sizeBytes: number,
  machine: MachineResources,
  options: PickQuantizationOptions & { contextSize?: number; sequences?: number } = {},
): FitEstimate {
  const need = roughMemoryNeed(sizeBytes, options);
  const needs = {
    contextSize: options.contextSize ?? DEFAULT_ESTIMATE_CONTEXT_SIZE,
    sequences: options.sequences ?? 1,
    totalLayers: 0,
    cpuOnly: { ramBytes: need, vramBytes: 0 },
    fullGpu: { ramBytes: 0, vramBytes: need },
  };
  const fit = fitVerdict(needs, machine, options.headroomFraction);
  return { ...fit, reason: `${fit.reason} (Estimated from the download size: the header could not be read.)`, basis: "file size" };
}
