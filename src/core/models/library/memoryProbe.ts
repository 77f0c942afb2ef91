import os from "node:os";
import type { Llama } from "node-llama-cpp";

/** Free and total memory of the machine, as the residency manager sees it. */
export interface MemorySnapshot {
  freeRamBytes: number;
  totalRamBytes: number;
  /** Infinity when unknown (no GPU runtime yet); 0 without a GPU. */
  freeVramBytes: number;
  totalVramBytes: number;
}

/** Reads the machine's free memory; injected into the residency manager so tests can fake it. */
export type MemoryProbe = () => Promise<MemorySnapshot>;

/** Free RAM: `process.availableMemory()` (respects cgroup limits) where Node has it, else `os.freemem()`. */
export function freeRamBytes(): number {
  const available = (process as { availableMemory?: () => number }).availableMemory?.();
  return typeof available === "number" && available > 0 ? Math.min(available, os.freemem() || available) : os.freemem();
}

/** Total RAM, lowered to the cgroup limit when the process runs under one. */
export function totalRamBytes(): number {
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  const total = os.totalmem();
  return typeof constrained === "number" && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * The system probe: RAM from the OS, VRAM from llama.cpp (`llama.getVramState()`) once the
 * runtime exists. Without a `getLlama`, VRAM is reported as unknown (Infinity).
 */
export function createSystemMemoryProbe(getLlama?: () => Promise<Llama | undefined>): MemoryProbe {
  return async () => {
    const llama = await getLlama?.().catch(() => undefined);
    let freeVramBytes = Number.POSITIVE_INFINITY;
    let totalVramBytes = Number.POSITIVE_INFINITY;
    if (llama) {
      if (llama.gpu === false) {
        freeVramBytes = totalVramBytes = 0;
      } else {
        const vram = await llama.getVramState();
        freeVramBytes = vram.free;
        totalVramBytes = vram.total;
      }
    }
    return { freeRamBytes: freeRamBytes(), totalRamBytes: totalRamBytes(), freeVramBytes, totalVramBytes };
  };
}
