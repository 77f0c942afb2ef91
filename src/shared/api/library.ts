/**
 * Wire types of the model library (the GGUF files in the models folder) and of model
 * residency (which models are in memory), shared by the core, the HTTP API and the UI.
 */

/** What a model can be used for. */
export type ModelCapability = "chat" | "completion" | "embedding";

/** "model" for a loadable model, "adapter" for a LoRA adapter GGUF (attached to a model at load). */
export type LibraryModelKind = "model" | "adapter";

/** Where a downloaded model came from (the sidecar `.<file name>.origin.json` written by `pull`). */
export interface ModelOrigin {
  /** e.g. "huggingface" or "url". */
  source: string;
  /** Hub repository, e.g. "owner/repo". */
  repo?: string;
  /** Hub revision (branch or commit). */
  revision?: string;
  /** File name inside the repository. */
  file?: string;
  /** SHA-256 of the file, hex. */
  sha256?: string;
  url?: string;
  /** ISO 8601 time of the download. */
  downloadedAt?: string;
}

/** One file of a library model (several for a split model). */
export interface LibraryModelFile {
  /** Path relative to the models folder, with forward slashes. */
  path: string;
  sizeBytes: number;
}

/** One model in the models folder. */
export interface LibraryModel {
  /** Path relative to the models folder without `.gguf` (and without `-00001-of-0000N` for a split model). */
  id: string;
  kind: LibraryModelKind;
  /** Every file of the model, in part order; the first is the one llama.cpp is given. */
  files: LibraryModelFile[];
  /** Total size of all files. */
  sizeBytes: number;
  /** Newest modification time of the files, ms since the epoch. */
  modifiedAt: number;
  /** `general.name`, when the file has one. */
  name?: string;
  /** `general.architecture`, e.g. "llama", "qwen2", "bert". */
  architecture?: string;
  /** Total number of weights. */
  parameterCount?: number;
  /** e.g. "Q4_K_M", "F16": from `general.file_type`, else from the file name. */
  quantization?: string;
  /** Context length the model was trained for, in tokens. */
  contextLength?: number;
  /**
   * Layers llama.cpp can put on the GPU: the GGUF block count plus the output layer (what a
   * load's `gpuLayers` count goes up to, as node-llama-cpp's "max" does).
   */
  layerCount?: number;
  hasChatTemplate: boolean;
  capabilities: ModelCapability[];
  origin?: ModelOrigin;
  /** "broken" when the file cannot be used; `error` says why. */
  status: "ok" | "broken";
  error?: string;
}

/** A model's estimated memory needs (weights plus context). */
export interface MemoryEstimate {
  ramBytes: number;
  vramBytes: number;
}

/** A model held by the residency manager. */
export interface LoadedModelState {
  id: string;
  state: "loading" | "loaded" | "unloading";
  /** ms since the epoch; undefined while loading. */
  loadedAt?: number;
  lastUsedAt: number;
  /** Requests using the model right now; it is never unloaded while this is above 0. */
  activeRequests: number;
  /** Idle time before it unloads, in ms; negative: never. */
  keepAliveMs: number;
  /** When it unloads if it stays idle (ms since the epoch); undefined while in use or kept forever. */
  expiresAt?: number;
  /** The memory the load was admitted with (an estimate, taken before the load). */
  memory: MemoryEstimate;
  /**
   * Measured once loaded: weights plus the context state of all its sequences, in bytes. The
   * figure the library and the dashboard (and /metrics) show. Undefined while loading.
   */
  memoryBytes?: number;
  /** Context size per sequence it runs with, in tokens; undefined while loading (and where the server does not say). */
  contextSize?: number;
  /** Sequences it generates at once; undefined while loading (and where the server does not say). */
  parallel?: number;
}

/** Why a model left memory. */
export type UnloadReason = "idle" | "evicted" | "manual" | "shutdown" | "crashed";

/** Something that happened to a model's residency. */
export type ResidencyEvent =
  | { type: "loading"; id: string }
  | { type: "loaded"; id: string; memory: MemoryEstimate }
  | { type: "load_failed"; id: string; message: string }
  | { type: "unloaded"; id: string; reason: UnloadReason };
