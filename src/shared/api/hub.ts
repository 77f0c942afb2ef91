/**
 * Wire types of the Hugging Face browser, the fit estimates and the downloads, shared by the
 * core, the HTTP API and the UI. Sizes are bytes, times are ms since the epoch unless stated.
 */

/** How hub search results are ordered (always most first). */
export type HubSearchSort = "downloads" | "likes" | "updated";

/** A query of the hub's model search (GGUF repositories only). */
export interface HubSearchQuery {
  /** Words matched against repository names. Default: none (every GGUF repository). */
  search?: string;
  /** Only repositories of this user or organisation. Default: any. */
  author?: string;
  /** Default: "downloads". */
  sort?: HubSearchSort;
  /** Results wanted, 1–100. Default: 20. */
  limit?: number;
}

/** One repository found by a hub search. */
export interface HubModel {
  /** "owner/name". */
  repo: string;
  author: string;
  downloads: number;
  likes: number;
  /** ISO 8601 time of the last change. */
  updatedAt: string;
  /** false, or how access is granted ("auto" or "manual"): a gated repo needs HF_TOKEN. */
  gated: false | "auto" | "manual";
  private: boolean;
  /** The hub's pipeline tag, e.g. "text-generation". */
  task?: string;
}

/** One file of a repository. */
export interface HubFile {
  /** Path inside the repository. */
  path: string;
  sizeBytes: number;
  /** SHA-256 of the content (the LFS oid), hex; absent for files kept in git itself. */
  sha256?: string;
}

/** One GGUF model of a repository: a single file, or the parts of a split model. */
export interface HubModelFile {
  /** Path of the file, or of the first part of a split model. */
  path: string;
  /** The file name without its folder; for a split model without `-00001-of-0000N`. */
  name: string;
  /** Normalised quantization parsed from the file name (e.g. "Q4_K_M", "F16"); undefined when unknown. */
  quant?: string;
  /** Sum of the parts' sizes. */
  sizeBytes: number;
  /** The file, or every part in part order. */
  parts: HubFile[];
  /** False when a split model misses some of its parts. */
  complete: boolean;
  /** A multimodal projector (`mmproj`), not a model on its own. */
  projector: boolean;
}

/** The models of one quantization. */
export interface HubQuantGroup {
  /** e.g. "Q4_K_M"; "unknown" when the file names do not say. */
  quant: string;
  /** Files of this quantization, usually one. */
  files: HubModelFile[];
  /** Size of the smallest file of the group. */
  sizeBytes: number;
}

/** A repository's GGUF files grouped by quantization. */
export interface HubRepoFiles {
  repo: string;
  /** The revision asked for (branch, tag or commit). */
  revision: string;
  /** The commit it pointed to, when the hub said. */
  commit?: string;
  /** Best quality first (F32, BF16, F16, Q8_0, Q6_K, ... IQ1_S, then unknown). */
  groups: HubQuantGroup[];
  /** Multimodal projector files. */
  projectors: HubModelFile[];
}

export type FitVerdict = "fits on GPU" | "fits in RAM" | "too large";

/** Free and total memory of this machine. */
export interface MachineResources {
  ramTotalBytes: number;
  ramFreeBytes: number;
  /** GPU backend in use ("cuda", "vulkan", "metal"), or false for none. */
  gpu: string | false;
  vramTotalBytes: number;
  vramFreeBytes: number;
  /** GPU memory is system memory (Apple silicon): VRAM and RAM needs share one pool. */
  unifiedMemory?: boolean;
}

/** Memory a model needs with one placement. */
export interface PlacementNeeds {
  ramBytes: number;
  vramBytes: number;
}

/** A model's memory needs at one context size, with and without the GPU. */
export interface ResourceNeeds {
  /** Context size per sequence, in tokens. */
  contextSize: number;
  /** Sequences of that size. */
  sequences: number;
  /** Layers of the model, including the output layer. */
  totalLayers: number;
  /** Every layer on the CPU. */
  cpuOnly: PlacementNeeds;
  /** Every layer on the GPU. */
  fullGpu: PlacementNeeds;
}

/** Whether a model fits this machine, decided before downloading it. */
export interface FitEstimate {
  verdict: FitVerdict;
  /** One sentence for people. */
  reason: string;
  needs: ResourceNeeds;
  machine: MachineResources;
  /** Share of free memory kept in reserve, 0–1. */
  headroomFraction: number;
  /**
   * What the needs were computed from: the GGUF header (exact tensor sizes, the default), or,
   * when no header could be read (a split model whose parts are not GGUF files), the files' size.
   */
  basis?: "header" | "file size";
}

/** Metadata of a GGUF file, local or remote (read from its header only). */
export interface GgufSummary {
  name?: string;
  architecture?: string;
  parameterCount?: number;
  /** e.g. "Q4_K_M", from `general.file_type`, else the file name. */
  quantization?: string;
  contextLength?: number;
  hasChatTemplate: boolean;
  /** Total size of the weights. */
  weightsBytes: number;
  /** Layers including the output layer. */
  layers: number;
  /** Size of the embedding vectors. */
  embeddingLength?: number;
  /** Number of split parts (1 for a single file). */
  parts: number;
}

/** A repository's model card: its README.md, YAML front matter removed. */
export interface HubModelCard {
  repo: string;
  /** The card's Markdown (untrusted: render it sanitized); null when the repository has no README.md. */
  markdown: string | null;
  /** True when the README was longer than the bound and was cut. */
  truncated: boolean;
  /** The repository's page on the hub (relative links of the card resolve against it). */
  pageUrl: string;
}

/** Whether the hub has an access token, and where it comes from (the token itself never leaves the core). */
export interface HubTokenStatus {
  configured: boolean;
  /** "env": HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), which wins over a stored one; "stored": entered in the app; "none". */
  source: "env" | "stored" | "none";
  /** Whether a token entered in the app is stored too (it is used once the environment has none). */
  stored: boolean;
}

/** The file a starter model downloads on this machine, from the hub's file list. */
export interface StarterModelFile {
  /** The starter's name. */
  name: string;
  /** Path of the picked file in the repository (the first part of a split model); absent when unknown. */
  path?: string;
  quant?: string;
  /** Download size (all parts); absent when unknown. */
  sizeBytes?: number;
  /** Why the file is unknown (hub unreachable, nothing fits). */
  error?: string;
}

/** A model of the curated starter list. */
export interface StarterModelInfo {
  /** Short name accepted by `pull`, e.g. "qwen2.5-0.5b". */
  name: string;
  /** Human title. */
  title: string;
  repo: string;
  /** Rough size of the model in parameters, for display. */
  parameters: string;
  kind: "chat" | "embedding";
  /** The best quantization worth picking when memory allows. */
  preferredQuant: string;
  description: string;
}

export type DownloadState =
  | "queued"
  | "resolving"
  | "downloading"
  | "verifying"
  | "completed"
  | "failed"
  | "cancelled";

/** Where a downloaded file came from: the sidecar `<dir>/.<file name>.origin.json`. */
export interface DownloadOrigin {
  source: "hf" | "url";
  /** "owner/repo" (hub downloads only). */
  repo?: string;
  /** The commit the file was downloaded from (hub downloads only). */
  revision?: string;
  /** Path inside the repository, or the URL's file name. */
  file: string;
  /** SHA-256 of the file, hex (verified against the hub's for hub downloads). */
  sha256: string;
  /** Where the bytes came from (never with credentials). */
  url: string;
  /** ISO 8601 time the download finished. */
  downloadedAt: string;
}

/** A snapshot of one download, sent with every progress event. */
export interface DownloadProgress {
  id: string;
  /** The reference as given, e.g. "hf:owner/repo:Q4_K_M". */
  ref: string;
  state: DownloadState;
  /** The model id once resolved, e.g. "owner/repo/name-Q4_K_M". */
  modelId?: string;
  /** Bytes on disk so far, including those of an earlier attempt. */
  receivedBytes: number;
  /** Total bytes, when known. */
  totalBytes?: number;
  /** Bytes present when this download started (resumed from an earlier one). */
  resumedFromBytes: number;
  /** Recent speed. */
  bytesPerSecond: number;
  /** Seconds left at the recent speed, when known. */
  etaSeconds?: number;
  /** 1-based part being fetched, and how many parts the model has. */
  part: number;
  parts: number;
  /** Attempts made on the current part (1 on the first try). */
  attempt: number;
  startedAt: number;
  finishedAt?: number;
  /** Why it failed. */
  error?: string;
}

/** A remote model's metadata and fit, read from its header only (HubClient.estimateFit). */
export interface RemoteFitEstimate {
  repo: string;
  /** The revision the header was read at. */
  revision: string;
  /** Path of the file inside the repository. */
  path: string;
  /** The file's download URL. */
  url: string;
  summary: GgufSummary;
  fit: FitEstimate;
}

/** Asks for a fit estimate of a hub file before downloading it. */
export interface FitEstimateRequest {
  repo: string;
  /** Path of the file (for a split model, its first part). */
  path: string;
  /** Default: "main". */
  revision?: string;
  /** Context size per sequence. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Parallel sequences. Default: 1. */
  sequences?: number;
}

/** Starts a download. */
export interface PullRequest {
  /** hf:owner/repo/file.gguf, hf:owner/repo:Q4_K_M, hf:owner/repo, an https URL or a starter name. */
  ref: string;
}

/** A finished download (DownloadManager.pull). */
export interface PullResult {
  id: string;
  modelId: string;
  /** Absolute paths of the file, or of every part in order. */
  paths: string[];
  sizeBytes: number;
  origins: DownloadOrigin[];
  /** True when it was already downloaded and verified. */
  alreadyPresent: boolean;
  resumedFromBytes: number;
}
