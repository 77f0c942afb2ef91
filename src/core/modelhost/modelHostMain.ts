/**
 * Entry of a model host process: one loaded model, with its own node-llama-cpp runtime, in a
 * process of its own, so that whatever kills it (a native assert in llama.cpp, a fatal V8
 * error in a chat template, the OOM killer) kills only it. The server forks it
 * ({@link ModelHostProcess}; the desktop app starts it as an Electron utility process) and
 * talks to it over the IPC channel (or the utility process's parent port) with src/shared/rpc:
 * `host.estimate` (memory, before the server admits the load), `host.load` once, then
 * generations, embeddings and token counts. The process exits when its
 * channel closes (an unload, or the server gone).
 */
import type { EmbeddingInput, EmbeddingResult, GenerationResult } from "../../shared/api/generation.js";
import type { RerankResult } from "../inference/rerankTypes.js";
import type { MemoryEstimate } from "../../shared/api/library.js";
import { createRpcServerFor } from "../../shared/rpc/createRpcServer.js";
import { createMessagePortTransport } from "../../shared/rpc/messagePortTransport.js";
import { createProcessChannelTransport, type ProcessChannelLike } from "../../shared/rpc/processChannelTransport.js";
import type { RpcTransport } from "../../shared/rpc/protocol.js";
import { Engine } from "../engine/Engine.js";
import type { LoadedModel, LoadedModelInfo } from "../engine/LoadedModel.js";
import type { RequestPriority, SequencePoolState } from "../engine/SequencePool.js";
import { InvalidArgumentError, MardukError } from "../errors.js";
import type { LlamaRuntime } from "../llama/LlamaRuntime.js";
import { createLogger } from "../logger.js";
import { DeltaBatcher } from "./DeltaBatcher.js";
import {
  MODEL_HOST_FAULT_ENV,
  MODEL_HOST_MEMBERS,
  type HostGenerationEvent,
  type HostGenerationRequest,
  type HostLoadRequest,
  type ModelHostApi,
} from "./modelHostApi.js";

/** What this process needs of Electron's `process.parentPort` (described, not imported: src/core never imports electron). */
interface ParentPortLike {
  postMessage(message: unknown): void;
  on(event: "message", listener: (event: { data: unknown }) => void): unknown;
  off(event: "message", listener: (event: { data: unknown }) => void): unknown;
}
const parentPort = (process as { parentPort?: ParentPortLike }).parentPort;

if (!process.send && !parentPort) {
  process.stderr.write("The model host is started by the server (child_process.fork with an IPC channel, or an Electron utility process), not by hand.\n");
  process.exit(2);
}

/** The channel to the server: the parent port in an Electron utility process, else the IPC channel of `child_process.fork`. */
function connectToServer(): RpcTransport {
  if (!parentPort) return createProcessChannelTransport(process as unknown as ProcessChannelLike);
  const port = parentPort;
  return createMessagePortTransport({
    post: (message) => port.postMessage(message),
    subscribe: (listener) => {
      const receive = (event: { data: unknown }): void => listener(event.data);
      port.on("message", receive);
      return () => port.off("message", receive);
    },
  });
}

const logger = createLogger();
const ignorePings = process.env[MODEL_HOST_FAULT_ENV] === "ignore-pings";
// Ctrl-C in a terminal reaches the whole process group: the server decides when its hosts stop.
process.on("SIGINT", () => undefined);

let hostEngine: Promise<{ engine: Engine; runtime: LlamaRuntime }> | undefined;
let loading: Promise<LoadedModelInfo> | undefined;
let loaded: LoadedModel | undefined;
let unloading: Promise<void> | undefined;
const running = new Map<number, AbortController>();
const generationListeners = new Set<(event: HostGenerationEvent) => void>();
const sequenceListeners = new Set<(state: SequencePoolState) => void>();

function emitGeneration(event: HostGenerationEvent): void {
  for (const listener of generationListeners) listener(event);
}

function requireModel(): LoadedModel {
  if (!loaded || unloading) throw new MardukError("aborted", "The model is being unloaded");
  return loaded;
}

/** The runtime and engine of this host, created by its first estimate or load. */
function engineFor(request: HostLoadRequest): Promise<{ engine: Engine; runtime: LlamaRuntime }> {
  hostEngine ??= (async () => {
    const { LlamaRuntime } = await import("../llama/LlamaRuntime.js");
    const runtime = await LlamaRuntime.create({ backend: request.backend, threads: request.threads, logger });
    return { runtime, engine: new Engine({ runtime: async () => runtime, modelsDir: request.modelsDir, logger }) };
  })();
  return hostEngine;
}

async function estimate(request: HostLoadRequest): Promise<MemoryEstimate> {
  return (await engineFor(request)).engine.estimateMemory(request.ref, request.options);
}

async function load(request: HostLoadRequest): Promise<LoadedModelInfo> {
  const model = await (await engineFor(request)).engine.loadModel(request.ref, request.options);
  model.onSequencesChanged((state) => {
    for (const listener of sequenceListeners) listener(state);
  });
  loaded = model;
  return model.info;
}

/** Runs one generation, streaming its progress as events; resolves with its result. */
async function generate(request: HostGenerationRequest): Promise<GenerationResult> {
  const model = requireModel();
  const { requestId } = request;
  if (running.has(requestId)) throw new InvalidArgumentError(`request ${requestId} is already running`);
  const controller = new AbortController();
  running.set(requestId, controller);
  try {
    const stream =
      request.kind === "chat"
        ? model.chat(request.messages, { ...request.options, signal: controller.signal })
        : model.complete(request.prompt, { ...request.options, signal: controller.signal });
    await stream.started;
    emitGeneration({ requestId, type: "started" });
    const batcher = new DeltaBatcher((deltas) => emitGeneration({ requestId, type: "deltas", deltas }));
    for await (const delta of stream) batcher.push(delta);
    batcher.flush();
    return await stream.result;
  } finally {
    running.delete(requestId);
  }
}

/** Runs an embedding or a ranking that the server can abort by its request id. */
async function abortable<T>(requestId: number, work: (model: LoadedModel, signal: AbortSignal) => Promise<T>): Promise<T> {
  const model = requireModel();
  const controller = new AbortController();
  running.set(requestId, controller);
  try {
    return await work(model, controller.signal);
  } finally {
    running.delete(requestId);
  }
}

function embed(request: { requestId: number; inputs: readonly EmbeddingInput[]; priority?: RequestPriority }): Promise<EmbeddingResult> {
  return abortable(request.requestId, (model, signal) => model.embed(request.inputs, { signal, priority: request.priority }));
}

function rerank(request: { requestId: number; query: string; documents: readonly string[]; priority?: RequestPriority }): Promise<RerankResult> {
  return abortable(request.requestId, (model, signal) => model.rerank(request.query, request.documents, { signal, priority: request.priority }));
}

async function unload(): Promise<void> {
  unloading ??= (async () => {
    await loading?.catch(() => undefined);
    await loaded?.dispose();
    const created = await hostEngine?.catch(() => undefined);
    await created?.engine.dispose();
    await created?.runtime.dispose();
  })();
  return unloading;
}

const api: ModelHostApi = {
  host: {
    estimate,
    load: async (request) => {
      if (loading) throw new InvalidArgumentError("This model host has already loaded a model");
      loading = load(request);
      return loading;
    },
    ping: () =>
      // A hung host, for the watchdog's tests: it stops answering once its model is loaded.
      ignorePings && loaded ? new Promise(() => undefined) : Promise.resolve({ rssBytes: process.memoryUsage.rss() }),
    unload,
  },
  model: {
    generate,
    embed,
    rerank,
    abort: async ({ requestId }) => {
      running.get(requestId)?.abort();
    },
    countChatTokens: async ({ messages, options }) => requireModel().countChatTokens(messages, options),
    onGeneration: (listener) => {
      generationListeners.add(listener);
      return () => generationListeners.delete(listener);
    },
    onSequences: (listener) => {
      sequenceListeners.add(listener);
      return () => sequenceListeners.delete(listener);
    },
  },
};

const transport = connectToServer();
createRpcServerFor(MODEL_HOST_MEMBERS, api, transport, {
  onUnexpectedError: (error, context) => logger.error({ err: error, context }, "model host call failed"),
});
// The server closed the channel (an unload) or is gone: nothing is left to serve.
transport.onClose(() => process.exit(0));
