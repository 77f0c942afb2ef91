import os from "node:os";
import type { Llama } from "node-llama-cpp";
import type { MachineResources } from "../../../shared/api/hub.js";

/**
 * This machine's free and total memory. RAM comes from the OS (on Linux, "available" memory,
 * which counts reclaimable caches); VRAM from llama.cpp when a runtime with a GPU is given.
 * Without one the machine is reported without a GPU: creating a GPU runtime only to look
 * at VRAM is the caller's choice.
 */
export async function probeMachineResources(llama?: Llama): Promise<MachineResources> {
  const resources: MachineResources = {
    ramTotalBytes: os.totalmem(),
    ramFreeBytes: os.freemem(),
    gpu: false,
    vramTotalBytes: 0,
    vramFreeBytes: 0,
  };
  if (llama && llama.gpu !== false) {
    const vram = await llama.getVramState();
    resources.gpu = llama.gpu;
    resources.vramTotalBytes = vram.total;
    resources.vramFreeBytes = vram.free;
    resources.unifiedMemory = vram.unifiedSize > 0;
  }
  return resources;
}
