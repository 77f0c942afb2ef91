import { createRequire } from "node:module";
import path from "node:path";
import { findPackageRoot } from "../packageRoot.js";

/** A native handle of the binding (a llama.cpp model or context); opaque to JavaScript. */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

/** What `createContext` answers. */
export interface NativeEmbeddingContext {
  context: NativeHandle;
  /** Floats per vector: the model's embedding size, or its ranking head's outputs. */
  dimensions: number;
  /** Texts one evaluation may hold. */
  sequences: number;
  /** Tokens one evaluation may hold. */
  batchSize: number;
}

/**
 * The batched embedding binding (`native/batchEmbedding.cc`, built by `scripts/build-native.mjs`
 * into `out/native/`): several texts in one llama.cpp evaluation, each read back by sequence.
 */
export interface BatchEmbeddingBinding {
  loadModel(modelPath: string, options: { gpuLayers: number }): Promise<NativeHandle>;
  createContext(model: NativeHandle, options: { contextSize: number; sequences: number; threads: number; ranking?: boolean }): Promise<NativeEmbeddingContext>;
  /** `tokens` holds the texts one after another; `lengths` their token counts. */
  embed(context: NativeHandle, tokens: Int32Array, lengths: Uint32Array): Promise<{ vectors: Float32Array; decodes: number }>;
  freeContext(context: NativeHandle): void;
  freeModel(model: NativeHandle): void;
}

/** Env switch: `0` turns the binding off (embeddings then go one at a time through node-llama-cpp). */
export const BATCH_EMBEDDINGS_ENV = "MARDUK_BATCH_EMBEDDINGS";

/** Where the build script puts the binding: `<package>/out/native/batchEmbedding.node`. */
export function defaultBatchEmbeddingBindingPath(): string | undefined {
  const root = findPackageRoot();
  return root ? path.join(root, "out", "native", "batchEmbedding.node") : undefined;
}

let loaded: BatchEmbeddingBinding | Error | undefined;

/**
 * The binding, or why it cannot be used (not built for this platform, turned off, or its
 * libraries do not match). It links llama.cpp's shared libraries by their names without a
 * search path, so it loads only into a process where node-llama-cpp already loaded them: call
 * it after a model is loaded. The outcome is kept for the process.
 */
export function loadBatchEmbeddingBinding(env: NodeJS.ProcessEnv = process.env): BatchEmbeddingBinding | Error {
  if (loaded) return loaded;
  if (env[BATCH_EMBEDDINGS_ENV] === "0") return (loaded = new Error(`turned off by ${BATCH_EMBEDDINGS_ENV}=0`));
  const file = defaultBatchEmbeddingBindingPath();
  if (!file) return (loaded = new Error("the marduk-local package folder was not found"));
  try {
    loaded = createRequire(import.meta.url)(file) as BatchEmbeddingBinding;
  } catch (error) {
    loaded = new Error(`the batched embedding binding could not load (${(error as Error).message.split("\n")[0]})`);
  }
  return loaded;
}
