import type { LoadedModelState } from "../../../shared/api/library.js";

/**
 * The memory a loaded model takes, as the library shows it: the measured weights plus context
 * state (the dashboard's per-model figure, from the same core function), else the estimate it was
 * admitted with while the measurement is not known yet.
 */
export function loadedMemoryBytes(state: LoadedModelState): number {
  return state.memoryBytes ?? state.memory.ramBytes + state.memory.vramBytes;
}
