/** Compute backends a user can ask for; "auto" picks the best GPU found, else the CPU. */
export type Backend = "auto" | "cuda" | "vulkan" | "metal" | "cpu";
export const BACKENDS: readonly Backend[] = ["auto", "cuda", "vulkan", "metal", "cpu"];
