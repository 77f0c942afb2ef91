import type { FitEstimate, HubModel, HubModelCard, HubRepoFiles, HubSearchSort, HubTokenStatus, StarterModelFile, StarterModelInfo } from "../api/hub.js";
import type { LibraryModel, LoadedModelState } from "../api/library.js";
import type { RuntimeLoadOptions } from "../api/loadOptions.js";
import type { EventSource } from "./common.js";

/** Options of loading a model from the UI (flash attention, KV cache types, batch size, mmap and mlock: {@link RuntimeLoadOptions}). */
export interface LoadModelOptions extends RuntimeLoadOptions {
  /** Context size per sequence. Default: the model's, at most 4096. */
  contextSize?: number;
  /** Layers on the GPU: "auto", "max" or a count. Default: "auto". */
  gpuLayers?: "auto" | "max" | number;
  /** Sequences generating at once. Default: 4. */
  parallel?: number;
  /** Minutes of idleness before it unloads; negative: never. Default: 15. */
  ttlMinutes?: number;
  /** LoRA adapters (library entries of kind "adapter") applied at load, each with a scale (default 1). Default: none. */
  loraAdapters?: Array<{ id: string; scale?: number }>;
}

/** A hub repository's files with a fit verdict per file for this machine. */
export interface HubRepoWithFit extends HubRepoFiles {
  /** Keyed by file path (the first part for split models). Absent when the header could not be read. */
  fit: Record<string, FitEstimate>;
  /**
   * Path of the file that is the best quantization fitting this machine (what `hf:owner/repo`
   * would download: pickQuantization, among files whose estimate is not "too large"); absent when none fits.
   */
  bestFit?: string;
}

/** One model clients can ask for, wherever it is served: the model pickers' list. */
export interface CatalogEntry {
  id: string;
  /** "local": in the models folder; "remote": served by a remote provider; "alias": a route of the router. */
  kind: "local" | "remote" | "alias";
  /** The providers that serve it, this machine ("local") first. */
  providers: string[];
  /** Whether it chats (and completes text), and whether it embeds. */
  capabilities: { chat: boolean; embeddings: boolean };
}

/** The models group: the library, residency, and the Hugging Face browser. */
export interface ModelsApi {
  /** Every model in the models folder (broken files included, with their reason). */
  list(): Promise<LibraryModel[]>;
  /** Models in memory. */
  loaded(): Promise<LoadedModelState[]>;
  load(request: { id: string; options?: LoadModelOptions }): Promise<LoadedModelState>;
  /**
   * Whether a library model fits this machine when loaded with these options (over the server's
   * defaults), from its header: the load dialog's estimate. Loads nothing. Options that cannot
   * work are refused as `load` would refuse them.
   */
  estimateLoad(request: { id: string; options?: LoadModelOptions }): Promise<FitEstimate>;
  unload(request: { id: string }): Promise<void>;
  /** Deletes the model's files (all parts and its origin sidecar). */
  remove(request: { id: string }): Promise<void>;
  /** Copies (or links) a GGUF file from elsewhere on the machine into the models folder. */
  importFile(request: { path: string }): Promise<LibraryModel>;
  /** Search Hugging Face for GGUF repositories. */
  searchHub(request: { query: string; sort?: HubSearchSort; limit?: number }): Promise<HubModel[]>;
  /** A repository's GGUF files grouped by quantization, with a fit estimate per file at a context size. */
  hubFiles(request: { repo: string; contextSize?: number }): Promise<HubRepoWithFit>;
  /** A repository's model card (README.md, at most 512 KiB, front matter removed); `markdown` is null when it has none. */
  modelCard(request: { repo: string }): Promise<HubModelCard>;
  /** The curated starter models with the quantization that best fits this machine. */
  starters(): Promise<StarterModelInfo[]>;
  /** The file each starter downloads on this machine, with its size, from the hub's file lists (slower than `starters`). */
  starterFiles(): Promise<StarterModelFile[]>;
  /** Whether a Hugging Face token is in use and where it comes from; never the token. */
  hubToken(): Promise<HubTokenStatus>;
  /** Stores a Hugging Face token for gated repositories and downloads (HF_TOKEN, when set, still wins). */
  setHubToken(request: { token: string }): Promise<HubTokenStatus>;
  /** Removes the stored token. */
  clearHubToken(): Promise<HubTokenStatus>;
  /**
   * Every model clients can ask for: this machine's, the remote providers' and the router's
   * aliases. It changes with the library and with `providers.onChanged`.
   */
  catalog(): Promise<CatalogEntry[]>;
  /** The library changed (file added, removed, or its metadata read). */
  onLibraryChanged: EventSource<LibraryModel[]>;
  /** A model was loaded, unloaded or used. */
  onLoadedChanged: EventSource<LoadedModelState[]>;
}
