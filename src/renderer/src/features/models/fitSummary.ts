import type { FitEstimate } from "../../../../shared/api/hub.js";
import { formatBytes } from "../../lib/format.js";

/**
 * A fit estimate's numbers in a few words, shown next to its verdict badge (so they do not
 * repeat it): what the model needs against what this machine has free ("1.2 GB of 15.8 GB RAM
 * free", "needs 9.1 GB, 6.0 GB RAM free"). GPU fits count VRAM; on unified memory both share one pool.
 */
export function describeFitNumbers(fit: FitEstimate): string {
  const { needs, machine } = fit;
  if (fit.verdict === "fits on GPU") {
    const gpu = needs.fullGpu;
    if (machine.unifiedMemory) {
      return `${formatBytes(gpu.vramBytes + gpu.ramBytes)} of ${formatBytes(Math.max(machine.ramFreeBytes, machine.vramFreeBytes))} free`;
    }
    return `${formatBytes(gpu.vramBytes)} of ${formatBytes(machine.vramFreeBytes)} VRAM free`;
  }
  const cpuTotal = needs.cpuOnly.ramBytes + needs.cpuOnly.vramBytes;
  if (fit.verdict === "fits in RAM") return `${formatBytes(cpuTotal)} of ${formatBytes(machine.ramFreeBytes)} RAM free`;
  return `needs ${formatBytes(cpuTotal)}, ${formatBytes(machine.ramFreeBytes)} RAM free`;
}
