import { existsSync, statSync } from "node:fs";
import path from "node:path";
import type { FitEstimate } from "../../shared/api/hub.js";
import type { MemoryEstimate } from "../../shared/api/library.js";
import { effectiveSpeculativeMode, type RuntimeLoadOptions } from "../../shared/api/loadOptions.js";
import { InvalidArgumentError, ModelLoadFailedError, ModelNotFoundError, MardukError } from "../errors.js";
import type { LlamaRuntime } from "../llama/LlamaRuntime.js";
import type { Logger } from "../logger.js";
import { findMissingTensorData } from "../models/library/checkTensorData.js";
import { checkGgufHeader } from "../models/library/checkGgufHeader.js";
import { describeGgufReadFailure } from "../models/library/describeGgufReadFailure.js";
import { validateModelMetadata } from "../models/library/validateModelMetadata.js";
import { modelIdFromPath, resolveModelIdPath } from "../models/modelPaths.js";
import type { EstimateFitForInfoOptions } from "../models/hub/fitEstimate.js";
// node-llama-cpp takes ~0.5 s to import, so everything that needs it at run time is imported
// on the first load: `serve` is listening long before that.
import type * as NodeLlamaCpp from "node-llama-cpp";
import type { DraftModel, LoadedModel } from "./LoadedModel.js";
import { findDraftVocabularyMismatch, type DraftVocabulary } from "./draftVocabulary.js";
import { assertLoadOptions, describeEffectiveLoadOptions, toLlamaLoadOptions } from "./llamaLoadOptions.js";

/** Options of one model load (the runtime ones, flash attention to mlock, are {@link RuntimeLoadOptions}). */
export interface ModelLoadOptions extends RuntimeLoadOptions {
  /** Context size of each sequence, in tokens. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Sequences generating at once from one context (batched together by llama.cpp). Default: 4. */
  parallel?: number;
  /** Layers offloaded to the GPU: "auto", "max" or a count. Default: "auto" (0 on CPU-only machines). */
  gpuLayers?: "auto" | "max" | number;
  /** Requests that may wait for a free sequence before 429. Default: 64. */
  maxQueue?: number;
  /** Longest a request waits for a sequence. Default: 120000 ms. */
  queueTimeoutMs?: number;
  /**
   * GGUF LoRA adapters applied to the model's context: `path` is absolute or an id/path inside
   * the models dir; `scale` defaults to 1. Adapters apply to the load that creates the model;
   * a model already loaded keeps its adapters. Default: none.
   */
  lora?: LoraAdapterOptions[];
}

/** One LoRA adapter of {@link ModelLoadOptions.lora}. */
export interface LoraAdapterOptions {
  /** Absolute path of the adapter's GGUF file, or its id/path inside the models dir. */
  path: string;
  /** Strength of the adapter. Default: 1. */
  scale?: number;
}

/** Options of {@link Engine}. */
export interface EngineOptions {
  /** Creates (once) the llama.cpp runtime; called on the first load. */
  runtime: () => Promise<LlamaRuntime>;
  /** Folder of GGUF files; model ids are paths relative to it. */
  modelsDir: string;
  logger: Logger;
  /** Defaults for every load, overridden per load. */
  loadDefaults?: ModelLoadOptions;
  /** Called after each successful load (metrics, UI events). */
  onModelLoaded?: (model: LoadedModel) => void;
}

export const DEFAULT_MAX_CONTEXT_SIZE = 4096;

/** True for a reference that names a file (an absolute or relative `.gguf` path) rather than an id. */
export function isFilePath(ref: string): boolean {
  return ref.toLowerCase().endsWith(".gguf") && (path.isAbsolute(ref) || ref.startsWith(".") || /^[a-zA-Z]:[\\/]/.test(ref));
}

export const DEFAULT_PARALLEL = 4;

/** Load defaults overridden by the options a load sets (an option set to undefined overrides nothing). */
export function mergeLoadOptions(defaults: ModelLoadOptions | undefined, options: ModelLoadOptions): ModelLoadOptions {
  const set = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return { ...defaults, ...set };
}

/**
 * Loads GGUF models: checks the file, loads it into llama.cpp, creates its context. It keeps no
 * registry: each load returns a model its caller owns and disposes ({@link ModelResidency} is
 * the one registry of loaded models). A failed load is reported and leaves nothing behind.
 */
export class Engine {
  /** Loads in flight, so shutdown can wait for them. */
  private readonly loading = new Set<Promise<LoadedModel>>();
  private disposed = false;

  constructor(private readonly options: EngineOptions) {}

  get modelsDir(): string {
    return this.options.modelsDir;
  }

  /**
   * Resolves a model id of the models dir ("x" or "x.gguf"). Paths are not ids: a file from
   * elsewhere is loaded only through an explicit {@link resolveFile} (the CLI's `--model`).
   * @throws ModelNotFoundError, InvalidArgumentError (an unsafe id); neither tells whether a file outside exists
   */
  resolveModel(ref: string): { id: string; path: string } {
    return { id: ref.replace(/\.gguf$/i, ""), path: resolveModelIdPath(this.modelsDir, ref) };
  }

  /**
   * Resolves a `.gguf` file given explicitly by the operator (anywhere on the machine): its id
   * is its path inside the models dir, else its file name.
   * @throws InvalidArgumentError when it is not an existing `.gguf` file
   */
  resolveFile(filePath: string): { id: string; path: string } {
    const absolute = path.resolve(filePath);
    if (!absolute.toLowerCase().endsWith(".gguf") || !existsSync(absolute) || !statSync(absolute).isFile()) {
      throw new InvalidArgumentError(`No model file at ${absolute}`, "model");
    }
    const relative = path.relative(path.resolve(this.modelsDir), absolute);
    const inside = !relative.startsWith("..") && !path.isAbsolute(relative);
    return { id: inside ? modelIdFromPath(this.modelsDir, absolute) : path.basename(absolute, path.extname(absolute)), path: absolute };
  }

  /** A reference the residency hands over: a registered file path, else an id. */
  resolveRef(ref: string): { id: string; path: string } {
    return isFilePath(ref) ? this.resolveFile(ref) : this.resolveModel(ref);
  }

  /** A load's options: the server's defaults, overridden by what `options` sets. */
  withLoadDefaults(options: ModelLoadOptions = {}): ModelLoadOptions {
    return mergeLoadOptions(this.options.loadDefaults, options);
  }

  /** Loads a model; the caller owns it (and unloads it with {@link unloadModel}). */
  async loadModel(ref: string, options: ModelLoadOptions = {}): Promise<LoadedModel> {
    if (this.disposed) throw new MardukError("internal_error", "The engine is shutting down");
    const { id, path: modelPath } = this.resolveRef(ref);
    const load = this.load(id, modelPath, this.withLoadDefaults(options));
    this.loading.add(load);
    void load.then(
      () => this.loading.delete(load),
      () => this.loading.delete(load),
    );
    return load;
  }

  private async load(id: string, modelPath: string, options: ModelLoadOptions): Promise<LoadedModel> {
    const log = this.options.logger.child({ model: id });
    const startedAt = performance.now();
    const rssBefore = process.memoryUsage().rss;
    const parallel = options.parallel ?? DEFAULT_PARALLEL;
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) {
      throw new InvalidArgumentError("parallel must be an integer from 1 to 64", "parallel");
    }
    assertLoadOptions(options);
    // Reading the header first turns a truncated or foreign file into a clear message
    // before llama.cpp sees it.
    const [{ readGgufFileInfo, GgufInsights, GgmlType }, { LoadedModel }, runtime] = await Promise.all([
      import("node-llama-cpp"),
      import("./LoadedModel.js"),
      this.options.runtime(),
    ]);
    const fileInfo = await this.readLoadableFileInfo(id, modelPath, readGgufFileInfo);
    const loraAdapters = await this.resolveLoraAdapters(id, options.lora);
    const { llama } = runtime;
    const { flashAttentionSupported } = await GgufInsights.from(fileInfo, llama);
    const llamaOptions = toLlamaLoadOptions(options, flashAttentionSupported);
    let model;
    let draft: DraftModel | undefined;
    try {
      model = await llama.loadModel({ modelPath, gpuLayers: options.gpuLayers ?? "auto", ...llamaOptions.model });
    } catch (error) {
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    }
    try {
      const contextSize = options.contextSize ?? Math.min(model.trainContextSize, DEFAULT_MAX_CONTEXT_SIZE);
      const context = await model.createContext({
        contextSize,
        sequences: parallel,
        threads: runtime.threads,
        ...llamaOptions.context,
        ...(loraAdapters.length > 0 ? { lora: { adapters: loraAdapters } } : {}),
      });
      draft = effectiveSpeculativeMode(options) === "draft" ? await this.loadDraftModel(id, model, contextSize, parallel, options, runtime, readGgufFileInfo) : undefined;
      const loadedModel = new LoadedModel(
        id,
        modelPath,
        model,
        context,
        runtime.threads,
        {
          loadMs: performance.now() - startedAt,
          // A draft model is part of the load: its memory is the load's too.
          modelBytes: model.size + (draft?.model.size ?? 0),
          contextBytes: context.stateSize + (draft?.context.stateSize ?? 0),
          rssDeltaBytes: Math.max(0, process.memoryUsage().rss - rssBefore),
        },
        { maxQueue: options.maxQueue, queueTimeoutMs: options.queueTimeoutMs },
        {},
        effectiveSpeculativeMode(options),
        draft,
      );
      loadedModel.logger = log;
      loadedModel.loadOptions = { ...describeEffectiveLoadOptions(model, context, GgmlType, options), ...(draft ? { draftModel: draft.id } : {}) };
      if (this.disposed) {
        await loadedModel.dispose();
        throw new MardukError("internal_error", "The engine is shutting down");
      }
      this.options.onModelLoaded?.(loadedModel);
      log.info({ loadMs: Math.round(loadedModel.stats.loadMs), contextSize: context.contextSize, parallel, ...loadedModel.info.loadOptions }, "model loaded");
      return loadedModel;
    } catch (error) {
      if (draft) await disposeDraftModel(draft);
      await model.dispose().catch(() => undefined);
      if (error instanceof MardukError) throw error;
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    }
  }

  /**
   * Loads the draft model of speculative "draft" beside its target, in the same runtime, with
   * the same context size, sequences, threads and runtime options (one draft sequence drafts for
   * one target sequence). The draft is an id of the models folder, never a path, and its
   * vocabulary must be the target's.
   * @throws InvalidArgumentError (param draftModel: not in the models folder, another vocabulary), ModelLoadFailedError
   */
  private async loadDraftModel(
    targetId: string,
    target: NodeLlamaCpp.LlamaModel,
    contextSize: number,
    parallel: number,
    options: ModelLoadOptions,
    runtime: LlamaRuntime,
    readGgufFileInfo: typeof NodeLlamaCpp.readGgufFileInfo,
  ): Promise<DraftModel> {
    const ref = options.draftModel!;
    const { id, path: draftPath } = this.resolveDraftModel(ref);
    if (id === targetId) throw new InvalidArgumentError("the draft model must be another, smaller model than the one it drafts for", "draftModel");
    const info = await this.readLoadableFileInfo(id, draftPath, readGgufFileInfo);
    const vocabularyOf = (metadata: unknown): DraftVocabulary | undefined =>
      ((metadata as { tokenizer?: { ggml?: DraftVocabulary } }).tokenizer?.ggml);
    const mismatch = findDraftVocabularyMismatch(vocabularyOf(target.fileInfo.metadata), vocabularyOf(info.metadata));
    if (mismatch) throw new InvalidArgumentError(`The draft model '${id}' cannot draft for '${targetId}': ${mismatch}`, "draftModel");
    const { GgufInsights } = await import("node-llama-cpp");
    const { flashAttentionSupported } = await GgufInsights.from(info, runtime.llama);
    const llamaOptions = toLlamaLoadOptions({ ...options, speculative: "off", draftModel: undefined }, flashAttentionSupported);
    let model;
    try {
      model = await runtime.llama.loadModel({ modelPath: draftPath, gpuLayers: options.gpuLayers ?? "auto", ...llamaOptions.model });
    } catch (error) {
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    }
    try {
      const context = await model.createContext({ contextSize, sequences: parallel, threads: runtime.threads, ...llamaOptions.context });
      return { id, model, context };
    } catch (error) {
      await model.dispose().catch(() => undefined);
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    }
  }

  /** A draft model's id in the models dir; one answer whatever the reason, as for adapters. @throws InvalidArgumentError */
  private resolveDraftModel(ref: string): { id: string; path: string } {
    try {
      if (isFilePath(ref) || path.isAbsolute(ref)) throw new ModelNotFoundError(ref);
      return this.resolveModel(ref);
    } catch {
      throw new InvalidArgumentError(`Draft model '${ref}' not found in the models folder`, "draftModel");
    }
  }

  /**
   * Checks each LoRA adapter before llama.cpp sees it: an id of a `.gguf` file inside the models
   * dir (never a path elsewhere), which is a GGUF adapter. Errors never quote the file's bytes.
   * @throws ModelLoadFailedError naming the adapter
   */
  private async resolveLoraAdapters(
    id: string,
    adapters: readonly LoraAdapterOptions[] = [],
  ): Promise<{ filePath: string; scale?: number }[]> {
    if (adapters.length === 0) return [];
    const { readGgufFileInfo } = await import("node-llama-cpp");
    const resolved: { filePath: string; scale?: number }[] = [];
    for (const adapter of adapters) {
      const filePath = this.resolveLoraPath(id, adapter.path);
      if (adapter.scale !== undefined && !Number.isFinite(adapter.scale)) {
        throw new InvalidArgumentError("a LoRA adapter's scale must be a finite number", "lora");
      }
      let info;
      try {
        info = await readGgufFileInfo(filePath, { readTensorInfo: false, logWarnings: false });
      } catch (error) {
        throw new ModelLoadFailedError(id, `LoRA adapter '${adapter.path}' is not a valid GGUF file`, error);
      }
      const general = info.metadata.general as { type?: unknown } | undefined;
      if (general?.type !== "adapter") {
        throw new ModelLoadFailedError(id, `'${adapter.path}' is not a LoRA adapter (its general.type is not "adapter")`);
      }
      resolved.push({ filePath, ...(adapter.scale !== undefined ? { scale: adapter.scale } : {}) });
    }
    return resolved;
  }

  /**
   * Estimates the memory a load of the model would take (weights plus the context of all its
   * sequences, plus LoRA adapters) from its GGUF header, with node-llama-cpp's insights for the
   * machine's backend, for the load's runtime options (flash attention, KV cache types and batch
   * size change the context's share; mmap the weights'). Creates the runtime when needed; loads nothing.
   * @throws ModelNotFoundError, InvalidArgumentError, ModelLoadFailedError (not a valid GGUF file)
   */
  async estimateMemory(ref: string, options: ModelLoadOptions = {}): Promise<MemoryEstimate> {
    const { id, path: modelPath } = this.resolveRef(ref);
    const merged = this.withLoadDefaults(options);
    assertLoadOptions(merged);
    const [{ readGgufFileInfo, GgufInsights, GgmlType }, runtime] = await Promise.all([import("node-llama-cpp"), this.options.runtime()]);
    // The tensor infos are what the weights' estimate is made of.
    const info = await this.readCheckedFileInfo(id, modelPath, readGgufFileInfo, true);
    const insights = await GgufInsights.from(info, runtime.llama).catch((error: unknown) => {
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    });
    // Outside the try below: a refused option is the request's fault (400), not the model's.
    const llamaOptions = toLlamaLoadOptions(merged, insights.flashAttentionSupported);
    try {
      const kvCacheKeyType = GgmlType[llamaOptions.model.experimentalDefaultContextKvCacheKeyType];
      const kvCacheValueType = GgmlType[llamaOptions.model.experimentalDefaultContextKvCacheValueType];
      const flashAttention = llamaOptions.estimateFlashAttention;
      const { gpuLayers, useMmap } = await insights.configurationResolver.resolveModelGpuLayersV2(merged.gpuLayers ?? "auto", {
        defaultContextFlashAttention: flashAttention,
        defaultContextKvCacheKeyType: kvCacheKeyType,
        defaultContextKvCacheValueType: kvCacheValueType,
        ...(merged.useMmap !== undefined ? { useMmap: merged.useMmap } : {}),
      });
      const contextSize = merged.contextSize ?? Math.min(insights.trainContextSize ?? DEFAULT_MAX_CONTEXT_SIZE, DEFAULT_MAX_CONTEXT_SIZE);
      const weights = await insights.estimateModelResourceRequirementsV2({ gpuLayers, useMmap });
      const context = await insights.estimateContextResourceRequirementsV2({
        contextSize,
        modelGpuLayers: gpuLayers,
        sequences: merged.parallel ?? DEFAULT_PARALLEL,
        useMmap,
        flashAttention,
        kvCacheKeyType,
        kvCacheValueType,
        ...llamaOptions.context,
      });
      let loraBytes = 0;
      for (const adapter of merged.lora ?? []) {
        try {
          loraBytes += statSync(this.resolveLoraPath(id, adapter.path)).size;
        } catch {
          // a missing adapter fails the load itself, with a clearer message
        }
      }
      const estimate = { ramBytes: weights.cpuRam + context.cpuRam + loraBytes, vramBytes: weights.gpuVram + context.gpuVram };
      if (effectiveSpeculativeMode(merged) !== "draft") return estimate;
      // The draft model runs beside it with the same context size and sequences.
      const draft = await this.estimateMemory(this.resolveDraftModel(merged.draftModel!).id, {
        ...merged,
        contextSize,
        speculative: "off",
        draftModel: undefined,
        lora: undefined,
      });
      return { ramBytes: estimate.ramBytes + draft.ramBytes, vramBytes: estimate.vramBytes + draft.vramBytes };
    } catch (error) {
      if (error instanceof MardukError) throw error;
      throw new ModelLoadFailedError(id, (error as Error).message, error);
    }
  }

  /**
   * Whether a load of the model with these options (over the server's defaults) fits the
   * machine, from its header alone: the verdict of {@link estimateFit} for the load's context
   * size, sequences and runtime options. Loads nothing and creates no runtime.
   * @throws ModelNotFoundError, ModelLoadFailedError (not a valid GGUF file), InvalidArgumentError (options it cannot use)
   */
  async estimateFit(ref: string, options: ModelLoadOptions, placement: Pick<EstimateFitForInfoOptions, "llama" | "machine">): Promise<FitEstimate> {
    const { id, path: modelPath } = this.resolveRef(ref);
    const merged = this.withLoadDefaults(options);
    const [{ readGgufFileInfo }, { estimateFit }] = await Promise.all([import("node-llama-cpp"), import("../models/hub/fitEstimate.js")]);
    const info = await this.readCheckedFileInfo(id, modelPath, readGgufFileInfo, true);
    // Both placements are estimated, so the GPU layer count plays no part; neither do adapters.
    return estimateFit(info, { ...merged, sequences: merged.parallel ?? DEFAULT_PARALLEL, ...placement });
  }

  /**
   * The checked header of a model about to be loaded. A file cut short (an interrupted copy or
   * download) has an intact header but too few tensor bytes; llama.cpp would fail on it in ways
   * node-llama-cpp does not always clean up.
   * @throws ModelLoadFailedError
   */
  private async readLoadableFileInfo(id: string, modelPath: string, readGgufFileInfo: typeof NodeLlamaCpp.readGgufFileInfo): Promise<NodeLlamaCpp.GgufFileInfo> {
    const fileInfo = await this.readCheckedFileInfo(id, modelPath, readGgufFileInfo, true);
    if (fileInfo.splicedParts <= 1 && fileInfo.tensorInfo) {
      const truncated = findMissingTensorData(fileInfo.tensorInfo, [statSync(modelPath).size]);
      if (truncated) throw new ModelLoadFailedError(id, `${truncated} (an incomplete download or copy?)`);
    }
    return fileInfo;
  }

  /**
   * Reads a model's GGUF header, after checking the bounds llama.cpp (and node-llama-cpp's
   * estimates) would assert on or loop over: a crafted file gets a precise reason, never a crash.
   * @throws ModelLoadFailedError
   */
  private async readCheckedFileInfo(
    id: string,
    modelPath: string,
    readGgufFileInfo: typeof NodeLlamaCpp.readGgufFileInfo,
    readTensorInfo: boolean,
  ): Promise<NodeLlamaCpp.GgufFileInfo> {
    const headerProblem = await checkGgufHeader(modelPath);
    if (headerProblem) throw new ModelLoadFailedError(id, headerProblem);
    let info;
    try {
      info = await readGgufFileInfo(modelPath, { readTensorInfo, logWarnings: false });
    } catch (error) {
      throw new ModelLoadFailedError(id, describeGgufReadFailure(error), error);
    }
    const unsafe = validateModelMetadata(info.metadata as unknown as Record<string, unknown>);
    if (unsafe) throw new ModelLoadFailedError(id, unsafe);
    return info;
  }

  /** The file of a LoRA adapter id (inside the models dir, `.gguf` only). @throws ModelLoadFailedError */
  private resolveLoraPath(modelId: string, adapterId: string): string {
    try {
      if (isFilePath(adapterId) || path.isAbsolute(adapterId)) throw new ModelNotFoundError(adapterId);
      return resolveModelIdPath(this.modelsDir, adapterId);
    } catch {
      // One answer whatever the reason, so nothing is learned about files elsewhere.
      throw new ModelLoadFailedError(modelId, `LoRA adapter '${adapterId}' not found in the models folder`);
    }
  }

  /** Unloads a model; running generations on it end with finish reason "abort". */
  async unloadModel(model: LoadedModel): Promise<void> {
    await model.dispose();
    this.options.logger.info({ model: model.id }, "model unloaded");
  }

  /** Refuses new loads and waits for those in flight (a model that finishes loading now is disposed). Models belong to their owners. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.allSettled([...this.loading]);
  }
}

async function disposeDraftModel(draft: DraftModel): Promise<void> {
  if (!draft.context.disposed) await draft.context.dispose().catch(() => undefined);
  if (!draft.model.disposed) await draft.model.dispose().catch(() => undefined);
}
