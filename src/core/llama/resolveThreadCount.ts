import os from "node:os";

/**
 * The number of CPU threads llama.cpp should use.
 *
 * llama.cpp's worker threads spin while they wait for each other, so more threads than
 * free cores is catastrophic: on a 2-vCPU machine stories260K decoded at ~1,300 tokens/s with
 * 1 thread and ~60 tokens/s with 2 (node-llama-cpp's own default there is 4).
 * The default is therefore about one thread per physical core (logical cores / 2, at least 1),
 * which leaves room for the OS, the UI and hyper-threading siblings.
 *
 * @param requested An explicit count (e.g. `--threads`); clamped to [1, logical cores].
 * @param logicalCores Defaults to `os.availableParallelism()`.
 */
export function resolveThreadCount(requested?: number, logicalCores = os.availableParallelism()): number {
  const cores = Math.max(1, Math.floor(logicalCores));
  if (requested !== undefined && Number.isFinite(requested) && requested >= 1) {
    return Math.min(Math.floor(requested), cores);
  }
  return Math.max(1, Math.floor(cores / 2));
}
