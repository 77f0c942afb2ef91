/**
 * A getLlama failure in words: node-llama-cpp throws a bare `NoBinaryFoundError` both when the
 * build's folder is not there and when loading its binary failed (it logs the cause itself).
 */
export function describeLlamaLoadError(error: unknown): string {
  if (error instanceof Error && (error.name === "NoBinaryFoundError" || error.message === "NoBinaryFoundError")) {
    return "node-llama-cpp found no loadable binary for the build's cmake options in its localBuilds folder";
  }
  return error instanceof Error ? error.message : String(error);
}
