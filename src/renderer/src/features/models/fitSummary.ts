import type { FitEstimate } from "../../../../shared/api/hub.js";
import { formatBytes } from "../../lib/format.js";

/** How {@link describeMemoryNeed} words a need against the free memory. */
export type MemoryNeedWording =
  /** "1.20 GB of 15.8 GB RAM free": it fits (a verdict next to it says so). */
  | "fits"
  /** "needs 9.10 GB, 6.00 GB RAM free": it does not fit. */
  | "too large"
  /** "needs 714 MB of 10.0 GB free RAM": a memory bar of the load dialog. */
  | "bar";

/**
 * The memory a model needs against what this machine has free, in a few words. `memory` names
 * the pool ("RAM", "VRAM"); leave it out for unified memory, where both share one.
 */
export function describeMemoryNeed(needBytes: number, freeBytes: number, memory: "RAM" | "VRAM" | undefined, wording: MemoryNeedWording): string {
  const need = formatBytes(needBytes);
  const free = formatBytes(freeBytes);
  const pool = memory === undefined ? "" : ` ${memory}`;
  if (wording === "fits") return `${need} of ${free}${pool} free`;
  if (wording === "too large") return `needs ${need}, ${free}${pool} free`;
  return `needs ${need} of ${free} free${pool}`;
}

/**
 * A fit estimate's numbers in a few words, shown next to its verdict badge (so they do not
 * repeat it): what the model needs against what this machine has free ("1.2 GB of 15.8 GB RAM
 * free", "needs 9.1 GB, 6.0 GB RAM free"). GPU fits count VRAM; on unified memory both share one pool.
 */
export function describeFitNumbers(fit: FitEstimate): string {
  const { needs, machine } = fit;
  if (fit.verdict === "fits on GPU") {
    const gpu = needs.fullGpu;
    if (machine.unifiedMemory) return describeMemoryNeed(gpu.vramBytes + gpu.ramBytes, Math.max(machine.ramFreeBytes, machine.vramFreeBytes), undefined, "fits");
    return describeMemoryNeed(gpu.vramBytes, machine.vramFreeBytes, "VRAM", "fits");
  }
  const cpuTotal = needs.cpuOnly.ramBytes + needs.cpuOnly.vramBytes;
  return describeMemoryNeed(cpuTotal, machine.ramFreeBytes, "RAM", fit.verdict === "fits in RAM" ? "fits" : "too large");
}
