import type { ModelLoadOptions } from "../engine/Engine.js";
import type { RequestPriority } from "../engine/SequencePool.js";
import type { GenerationStream } from "./GenerationStream.js";

/** Knobs that only mean something for a model on this machine (ignored by remote targets). */
export interface LocalModelOptions {
  /** How long the model stays loaded after this request (Ollama's keep_alive), in ms. Default: the model's TTL. */
  keepAliveMs?: number;
  /** Load options used if this request has to load the model (e.g. Ollama's num_ctx). Default: the server's. */
  load?: ModelLoadOptions;
}

/** How a request may be routed. Every field is optional. */
export interface RoutingHints {
  /** Never leave this machine (the request fails rather than reach a remote). Default: false. */
  localOnly?: boolean;
  /**
   * Keeps one conversation (or one client) on one target of a weighted route, so its prompt
   * cache stays warm: OpenAI's `user` or `prompt_cache_key`, a header, or the API key. Default: none.
   */
  stickyKey?: string;
  /** Use the response cache for a deterministic request. Default: true. */
  cache?: boolean;
  /** Fingerprint of the caller's API key, for usage accounting. Default: none. */
  apiKeyFingerprint?: string;
}

/** Per-request options every protocol adapter can pass to the inference door. */
export interface InferenceRequestOptions {
  /** Aborts the work; a client that disconnects aborts its generation. */
  signal?: AbortSignal;
  /** Local-only knobs. */
  local?: LocalModelOptions;
  routing?: RoutingHints;
  /**
   * "background" (batch lines): waits for a sequence of this machine's model behind every
   * interactive request, and leaves one free for them (see RequestPriority). Remotes ignore it.
   * Default: "interactive".
   */
  priority?: RequestPriority;
}

/** Who served a request: the provider and the model id there. */
export interface ServedBy {
  /** Provider id: "local" for this machine, else the remote's configured id. */
  provider: string;
  /** The model id at that provider (what responses name as `model`). */
  modelId: string;
  /** "hit" when the answer came from the response cache, "miss" when it could have. Absent: not cacheable. */
  cache?: "hit" | "miss";
}

/** A started generation: who runs it, and its output (its first token has arrived or it has ended). */
export interface StartedGeneration extends ServedBy {
  stream: GenerationStream;
}
