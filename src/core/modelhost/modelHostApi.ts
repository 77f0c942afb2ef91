/**
 * The typed channel between the server and a model host process: what the parent calls and
 * what the host reports, carried by src/shared/rpc over the child's IPC channel.
 */
import type { RerankResult } from "../inference/rerankTypes.js";
import type {
  ChatGenerationOptions,
  ChatMessage,
  EmbeddingInput,
  EmbeddingResult,
  GenerationDelta,
  GenerationOptions,
  GenerationResult,
} from "../../shared/api/generation.js";
import type { EventSource } from "../../shared/contract/common.js";
import type { MemoryEstimate } from "../../shared/api/library.js";
import type { RpcMembers } from "../../shared/rpc/contractMembers.js";
import type { ModelLoadOptions } from "../engine/Engine.js";
import type { ChatPromptOptions, LoadedModelInfo } from "../engine/LoadedModel.js";
import type { SequencePoolState, RequestPriority } from "../engine/SequencePool.js";
import type { Backend } from "../llama/backend.js";

/** What a host estimates and loads: one model, with the runtime settings of the server. */
export interface HostLoadRequest {
  /** What the engine resolves: a model id of the models dir, or a `.gguf` path the operator registered. */
  ref: string;
  /** The models dir (ids and LoRA adapter ids are resolved inside it). */
  modelsDir: string;
  options: ModelLoadOptions;
  backend: Backend;
  threads: number;
}

/** One generation, with a request id chosen by the parent (it names the generation's events and its abort). */
export type HostGenerationRequest =
  | { requestId: number; kind: "chat"; messages: readonly ChatMessage[]; options: ChatGenerationOptions }
  | { requestId: number; kind: "complete"; prompt: string; options: GenerationOptions };

/**
 * Progress of a running generation. Deltas are batched: a message carries every delta produced
 * since the previous one (the first is always sent at once).
 */
export type HostGenerationEvent =
  | { requestId: number; type: "started" }
  | { requestId: number; type: "deltas"; deltas: GenerationDelta[] };

/** What a ping returns: proof of life, and the host's memory. */
export interface HostHealth {
  rssBytes: number;
}

export interface ModelHostApi {
  host: {
    /**
     * Estimates the memory a load would take (node-llama-cpp simulates the load in llama.cpp,
     * which asserts on crafted files as a real load does: hence here, not in the server).
     */
    estimate(request: HostLoadRequest): Promise<MemoryEstimate>;
    /** Loads the model (creating the llama.cpp runtime if the estimate did not); once per host. */
    load(request: HostLoadRequest): Promise<LoadedModelInfo>;
    /** Answers at once while the host's event loop runs (the watchdog's question). */
    ping(request: Record<string, never>): Promise<HostHealth>;
    /** Ends every generation (finish reason "abort"), frees the model and llama.cpp; the host then exits. */
    unload(request: Record<string, never>): Promise<void>;
  };
  model: {
    /** Runs one generation to its end; its progress arrives as {@link onGeneration} events first. */
    generate(request: HostGenerationRequest): Promise<GenerationResult>;
    embed(request: { requestId: number; inputs: readonly EmbeddingInput[]; priority?: RequestPriority }): Promise<EmbeddingResult>;
    rerank(request: { requestId: number; query: string; documents: readonly string[]; priority?: RequestPriority }): Promise<RerankResult>;
    /** Aborts a generation, an embedding or a ranking; unknown ids are ignored. */
    abort(request: { requestId: number }): Promise<void>;
    /** Exact prompt tokens of a conversation (and the tools its template renders). */
    countChatTokens(request: { messages: readonly ChatMessage[]; options?: ChatPromptOptions }): Promise<number>;
    onGeneration: EventSource<HostGenerationEvent>;
    onSequences: EventSource<SequencePoolState>;
  };
}

/** Every call and event of the host's channel: its RPC allowlist. */
export const MODEL_HOST_MEMBERS = {
  host: { calls: ["estimate", "load", "ping", "unload"], events: [] },
  model: { calls: ["generate", "embed", "rerank", "abort", "countChatTokens"], events: ["onGeneration", "onSequences"] },
} as const satisfies RpcMembers<ModelHostApi>;

/**
 * Environment variable of a test-only fault of a host (never set in production): with
 * "ignore-pings", the host stops answering the watchdog once its model is loaded (a hung host).
 */
export const MODEL_HOST_FAULT_ENV = "MARDUK_MODEL_HOST_TEST_FAULT";
