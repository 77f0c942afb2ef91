import type { LibraryModel } from "../../../shared/api/library.js";

/**
 * Ollama's name of a model: `name:tag`, with `:latest` when the id has no tag of its own (what
 * Ollama clients expect in lists; requests may leave `:latest` out).
 */
export function toOllamaName(id: string): string {
  const lastSegment = id.slice(id.lastIndexOf("/") + 1);
  return lastSegment.includes(":") ? id : `${id}:latest`;
}

/** "1.5B", "360M": Ollama's parameter_size. */
function formatParameterCount(count: number | undefined): string {
  if (!count) return "";
  return count >= 1e9 ? `${(count / 1e9).toFixed(1)}B` : `${Math.round(count / 1e6)}M`;
}

/**
 * Ollama's `details` of a model, from the library's summary of its GGUF header (summarizeGguf);
 * empty strings for a model that is not a file here (a remote or an alias).
 */
export function toOllamaDetails(model: LibraryModel | undefined) {
  const architecture = model?.architecture ?? "";
  return {
    parent_model: "",
    format: model ? "gguf" : "",
    family: architecture,
    families: architecture ? [architecture] : [],
    parameter_size: formatParameterCount(model?.parameterCount),
    quantization_level: model?.quantization ?? "",
  };
}
