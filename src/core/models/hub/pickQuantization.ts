import type { HubModelFile, MachineResources } from "../../../shared/api/hub.js";
import { DEFAULT_HEADROOM_FRACTION } from "./fitEstimate.js";
import { quantRank } from "./quantization.js";

/** Options of {@link pickQuantization}. */
export interface PickQuantizationOptions {
  /**
   * The best quantization worth having: better ones are only picked when nothing at or below
   * it exists. Default: "Q4_K_M" (the usual balance of quality, size and speed).
   */
  preferred?: string;
  /** Memory beyond the weights for the context and compute buffers. Default: 512 MiB. */
  contextAllowanceBytes?: number;
  /** Weights are counted this many times their file size (buffers, alignment). Default: 1.1. */
  weightsFactor?: number;
  /** Share of free memory kept in reserve. Default: 0.1. */
  headroomFraction?: number;
}

export const DEFAULT_PREFERRED_QUANT = "Q4_K_M";

/** Memory a model file is expected to need before its header is read: a size-based estimate. */
export function roughMemoryNeed(sizeBytes: number, options: PickQuantizationOptions = {}): number {
  return sizeBytes * (options.weightsFactor ?? 1.1) + (options.contextAllowanceBytes ?? 512 * 1024 ** 2);
}

/**
 * Picks the file that best fits this machine: the best quality at or below `preferred` whose
 * rough memory need fits free RAM (or free VRAM when that is larger); when the repository has
 * nothing at or below `preferred`, the better one closest to `preferred` that fits. Projectors, incomplete
 * split models and unknown quantizations are never picked.
 * @returns undefined when nothing fits.
 */
export function pickQuantization(
  models: readonly HubModelFile[],
  machine: MachineResources,
  options: PickQuantizationOptions = {},
): HubModelFile | undefined {
  const headroom = options.headroomFraction ?? DEFAULT_HEADROOM_FRACTION;
  const budget = Math.max(machine.ramFreeBytes, machine.gpu === false ? 0 : machine.vramFreeBytes) * (1 - headroom);
  const preferredRank = quantRank(options.preferred ?? DEFAULT_PREFERRED_QUANT);
  const known = models.filter((model) => !model.projector && model.complete && quantRank(model.quant) < quantRank(undefined));
  const fits = (model: HubModelFile): boolean => roughMemoryNeed(model.sizeBytes, options) <= budget;
  const atOrBelow = known
    .filter((model) => quantRank(model.quant) >= preferredRank)
    .sort((a, b) => quantRank(a.quant) - quantRank(b.quant) || a.sizeBytes - b.sizeBytes);
  const pick = atOrBelow.find(fits);
  if (pick || atOrBelow.length > 0) return pick;
  // Closest to `preferred` first: the lower quality a better quantization is, the smaller it is.
  const above = known
    .filter((model) => quantRank(model.quant) < preferredRank)
    .sort((a, b) => quantRank(b.quant) - quantRank(a.quant) || a.sizeBytes - b.sizeBytes);
  return above.find(fits);
}
