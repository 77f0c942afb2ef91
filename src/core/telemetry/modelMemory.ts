import type { ModelLoadStats } from "../engine/LoadedModel.js";

/**
 * The memory a loaded model takes, as every screen and /metrics report it: its weights
 * (node-llama-cpp's `model.size`) plus the context state of all its sequences (KV cache and
 * buffers), measured by the load. Not the process's RSS (shared by everything in it) and not the
 * pre-load estimate used to decide whether it fits.
 */
export function loadedModelMemoryBytes(stats: Pick<ModelLoadStats, "modelBytes" | "contextBytes">): number {
  return stats.modelBytes + stats.contextBytes;
}
