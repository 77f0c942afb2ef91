import type { HubModelFile, MachineResources, StarterModelInfo } from "../../shared/api/hub.js";
import { pickQuantization, type PickQuantizationOptions } from "./hub/pickQuantization.js";

/**
 * A short curated list of small models a new user can pull in one step (`marduk-local pull
 * qwen2.5-0.5b`): the quantization is picked for this machine from the repository's files.
 * Small models lose more to quantization, so the smallest ones prefer Q8_0.
 */
export const STARTER_MODELS: readonly StarterModelInfo[] = [
  {
    name: "qwen2.5-0.5b",
    title: "Qwen2.5 0.5B Instruct",
    repo: "Qwen/Qwen2.5-0.5B-Instruct-GGUF",
    parameters: "0.5B",
    kind: "chat",
    preferredQuant: "Q8_0",
    description: "Tiny multilingual chat model; runs anywhere.",
  },
  {
    name: "qwen2.5-1.5b",
    title: "Qwen2.5 1.5B Instruct",
    repo: "Qwen/Qwen2.5-1.5B-Instruct-GGUF",
    parameters: "1.5B",
    kind: "chat",
    preferredQuant: "Q4_K_M",
    description: "Small multilingual chat model, good at following instructions.",
  },
  {
    name: "llama3.2-1b",
    title: "Llama 3.2 1B Instruct",
    repo: "bartowski/Llama-3.2-1B-Instruct-GGUF",
    parameters: "1B",
    kind: "chat",
    preferredQuant: "Q4_K_M",
    description: "Meta's smallest Llama 3.2 chat model.",
  },
  {
    name: "llama3.2-3b",
    title: "Llama 3.2 3B Instruct",
    repo: "bartowski/Llama-3.2-3B-Instruct-GGUF",
    parameters: "3B",
    kind: "chat",
    preferredQuant: "Q4_K_M",
    description: "Meta's Llama 3.2 3B chat model: a solid all-rounder for laptops.",
  },
  {
    name: "gemma3-1b",
    title: "Gemma 3 1B it",
    repo: "bartowski/google_gemma-3-1b-it-GGUF",
    parameters: "1B",
    kind: "chat",
    preferredQuant: "Q4_K_M",
    description: "Google's smallest Gemma 3 instruction-tuned model.",
  },
  {
    name: "smollm2-360m",
    title: "SmolLM2 360M Instruct",
    repo: "bartowski/SmolLM2-360M-Instruct-GGUF",
    parameters: "360M",
    kind: "chat",
    preferredQuant: "Q8_0",
    description: "Hugging Face's very small chat model; fast on any CPU.",
  },
  {
    name: "nomic-embed-text",
    title: "nomic-embed-text v1.5",
    repo: "nomic-ai/nomic-embed-text-v1.5-GGUF",
    parameters: "137M",
    kind: "embedding",
    preferredQuant: "Q8_0",
    description: "Text embeddings for search and retrieval (768 dimensions).",
  },
];

/** The starter model of a name (case-insensitive), from `starters` (default: the curated list). */
export function findStarterModel(name: string, starters: readonly StarterModelInfo[] = STARTER_MODELS): StarterModelInfo | undefined {
  const lower = name.trim().toLowerCase();
  return starters.find((starter) => starter.name.toLowerCase() === lower);
}

/**
 * The file of a starter model to pull on this machine: the best quantization at or below the
 * starter's preferred one that fits free memory (see {@link pickQuantization}).
 * @param models the repository's GGUF models (HubClient.listGgufFiles).
 * @returns undefined when nothing fits.
 */
export function pickStarterFile(
  starter: StarterModelInfo,
  models: readonly HubModelFile[],
  machine: MachineResources,
  options: Omit<PickQuantizationOptions, "preferred"> = {},
): HubModelFile | undefined {
  return pickQuantization(models, machine, { ...options, preferred: starter.preferredQuant });
}
