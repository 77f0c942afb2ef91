import { constants } from "node:fs";
import { copyFile, link, open, realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import type { FitEstimate, HubModel, HubModelCard, HubSearchSort, HubTokenStatus, StarterModelFile, StarterModelInfo } from "../../shared/api/hub.js";
import type { LibraryModel, LoadedModelState } from "../../shared/api/library.js";
import type { EffectiveLoadOptions, RuntimeLoadOptions } from "../../shared/api/loadOptions.js";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { CatalogEntry, HubRepoWithFit, LoadModelOptions, ModelsApi } from "../../shared/contract/models.js";
import type { ModelLoadOptions } from "../engine/Engine.js";
import type { Engine } from "../engine/Engine.js";
import type { ModelResidency } from "../engine/ModelResidency.js";
import type { ModelCatalog } from "../inference/ModelCatalog.js";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.js";
import type { HubClient } from "../models/hub/HubClient.js";
import type { HubTokenStore } from "../models/hub/HubTokenStore.js";
import { probeMachineResources } from "../models/hub/machineResources.js";
import { pickQuantization } from "../models/hub/pickQuantization.js";
import { roughFitEstimate } from "../models/hub/roughFit.js";
import type { ModelLibrary } from "../models/ModelLibrary.js";
import { SPLIT_PART_PATTERN } from "../models/modelPaths.js";
import { pickStarterFile, STARTER_MODELS } from "../models/starterModels.js";
import {
  estimateLoadRequest,
  hubFilesRequest,
  importFileRequest,
  loadModelRequest,
  modelCardRequest,
  modelIdRequest,
  parseRequest,
  searchHubRequest,
  setHubTokenRequest,
} from "./requestSchemas.js";
import { DEFAULT_PARALLEL } from "../engine/Engine.js";
import { loadedModelMemoryBytes } from "../telemetry/modelMemory.js";

/** What the models group needs of the core. */
export interface ModelsServiceDeps {
  modelsDir: string;
  engine: Engine;
  residency: ModelResidency;
  library: ModelLibrary;
  hub: HubClient;
  /** The Hugging Face token the hub client uses (set and cleared from the UI). */
  hubToken: HubTokenStore;
  /** Every model clients can ask for, local and remote (the pickers' list). */
  catalog: ModelCatalog;
  /** The llama.cpp runtime if it already exists (fit estimates use it for VRAM); never created for this. */
  llama: () => Promise<Llama | undefined>;
}

/** Header reads at once when estimating the fit of a repository's files. */
const FIT_CONCURRENCY = 4;

async function mapLimit<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The GGUF magic at the start of a file. */
async function isGgufFile(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    return bytesRead === 4 && magic.toString("latin1") === "GGUF";
  } finally {
    await handle.close();
  }
}

/** The engine's options of a contract load (its LoRA adapters are library ids). */
function toEngineLoadOptions(options: LoadModelOptions): ModelLoadOptions {
  const { loraAdapters, ttlMinutes: _residencyNotLoad, ...rest } = options;
  const loadOptions: ModelLoadOptions = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
  if (loraAdapters?.length) {
    loadOptions.lora = loraAdapters.map((adapter) => ({ path: adapter.id, ...(adapter.scale !== undefined ? { scale: adapter.scale } : {}) }));
  }
  return loadOptions;
}

/**
 * Whether a loaded model runs with other runtime options than a load asks for. Unset options
 * and "auto" flash attention accept whatever it runs with; the batch size counts as llama.cpp
 * raises it (to at least one token per sequence).
 */
function runtimeOptionsDiffer(requested: RuntimeLoadOptions, current: EffectiveLoadOptions | undefined, parallel: number): boolean {
  if (!current) return false;
  const { flashAttention, kvCacheKeyType, kvCacheValueType, batchSize, useMmap, useMlock, speculative, draftModel } = requested;
  return (
    (flashAttention !== undefined && flashAttention !== "auto" && flashAttention !== current.flashAttention) ||
    (kvCacheKeyType !== undefined && kvCacheKeyType !== current.kvCacheKeyType) ||
    (kvCacheValueType !== undefined && kvCacheValueType !== current.kvCacheValueType) ||
    (batchSize !== undefined && Math.max(batchSize, parallel) !== current.batchSize) ||
    (useMmap !== undefined && useMmap !== current.useMmap) ||
    (useMlock !== undefined && useMlock !== current.useMlock) ||
    (speculative !== undefined && speculative !== current.speculative) ||
    (draftModel !== undefined && draftModel.replace(/\.gguf$/i, "") !== current.draftModel)
  );
}

/**
 * The models group: the library (models folder), residency (load/unload with options), the
 * Hugging Face browser with a fit estimate per file, and importing a local file.
 */
export class ModelsService implements ModelsApi {
  constructor(private readonly deps: ModelsServiceDeps) {}

  async list(): Promise<LibraryModel[]> {
    return this.deps.library.list();
  }

  async loaded(): Promise<LoadedModelState[]> {
    return this.withRunInfo(this.deps.residency.list());
  }

  /**
   * Loads a model with the given options and leaves it idle under its TTL. A model loaded with
   * another context size, parallelism, GPU layer count or runtime option (flash attention, KV
   * cache types, batch size, mmap, mlock) is reloaded (refused while in use).
   */
  async load(request: { id: string; options?: LoadModelOptions }): Promise<LoadedModelState> {
    const { id: ref, options = {} } = parseRequest(loadModelRequest, request);
    const { residency } = this.deps;
    const id = this.libraryId(ref);
    const loadOptions = toEngineLoadOptions(options);
    const current = residency.get(id)?.info;
    const differs =
      current !== undefined &&
      // Adapters are applied when a context is created, so asking for any means a fresh load.
      ((options.loraAdapters?.length ?? 0) > 0 ||
        (options.contextSize !== undefined && options.contextSize !== current.contextSize) ||
        (options.parallel !== undefined && options.parallel !== current.parallel) ||
        (typeof options.gpuLayers === "number" && options.gpuLayers !== current.gpuLayers) ||
        runtimeOptionsDiffer(options, current.loadOptions, current.parallel));
    if (differs) {
      const state = residency.list().find((model) => model.id === id);
      if (state && state.activeRequests > 0) {
        throw new InvalidArgumentError(`'${id}' is in use with other options; unload it when it is idle, then load it again`, "options");
      }
      await this.unloadNow(id);
    }
    if (options.ttlMinutes !== undefined) {
      residency.setKeepAlive(id, options.ttlMinutes < 0 ? -1 : Math.round(options.ttlMinutes * 60_000));
    }
    await residency.load(id, { load: loadOptions });
    const state = this.withRunInfo(residency.list()).find((model) => model.id === id);
    if (!state) throw new InvalidArgumentError(`'${id}' was unloaded right after loading (its TTL is 0)`, "options.ttlMinutes");
    return state;
  }

  /** The load dialog's fit estimate: the library model's header, these options over the server's defaults, this machine's free memory. */
  async estimateLoad(request: { id: string; options?: LoadModelOptions }): Promise<FitEstimate> {
    const { id: ref, options = {} } = parseRequest(estimateLoadRequest, request);
    const llama = await this.deps.llama();
    return this.deps.engine.estimateFit(this.libraryId(ref), toEngineLoadOptions(options), { llama, machine: await probeMachineResources(llama) });
  }

  async unload(request: { id: string }): Promise<void> {
    const { id } = parseRequest(modelIdRequest, request);
    await this.unloadNow(id.replace(/\.gguf$/i, ""));
  }

  /** Unloads the model (when loaded), then deletes its files. */
  async remove(request: { id: string }): Promise<void> {
    const { id: ref } = parseRequest(modelIdRequest, request);
    const id = ref.replace(/\.gguf$/i, "");
    const state = this.deps.residency.list().find((model) => model.id === id);
    if (state && state.activeRequests > 0) throw new InvalidArgumentError(`'${id}' is in use; stop its requests first`, "id");
    await this.unloadNow(id);
    await this.deps.library.remove(id);
  }

  /**
   * Brings a GGUF file from elsewhere on this machine into the models folder: a hard link when
   * the folder is on the same file system, else a copy (written under a temporary name, so the
   * library never sees half a file). The parts of a split model come along. A symlink (such as a
   * Hugging Face cache snapshot entry) is resolved first, so the file it leads to is linked or
   * copied under the symlink's name; a path that does not lead to a regular file is refused.
   */
  async importFile(request: { path: string }): Promise<LibraryModel> {
    const { path: source } = parseRequest(importFileRequest, request);
    if (!path.isAbsolute(source)) throw new InvalidArgumentError("Give the file's absolute path", "path");
    if (!source.toLowerCase().endsWith(".gguf")) throw new InvalidArgumentError("Only .gguf files can be imported", "path");
    const modelsDir = path.resolve(this.deps.modelsDir);
    const relativeToModels = path.relative(modelsDir, path.resolve(source));
    if (!relativeToModels.startsWith("..") && !path.isAbsolute(relativeToModels)) {
      throw new InvalidArgumentError("This file is already in the models folder", "path");
    }
    const split = SPLIT_PART_PATTERN.exec(path.basename(source));
    const count = split ? Number(split.groups!.count) : 1;
    const sources = split
      ? Array.from({ length: count }, (_, index) =>
          path.join(path.dirname(source), `${split.groups!.base}-${String(index + 1).padStart(5, "0")}-of-${split.groups!.count}.gguf`),
        )
      : [source];
    // What each path leads to: linking a symlink would link the symlink itself (dangling, or
    // pointing elsewhere, once it sits in the models folder).
    const realSources: string[] = [];
    for (const file of sources) {
      const real = await realpath(file).catch(() => undefined);
      if (real === undefined) throw new InvalidArgumentError(`No file at ${file}`, "path");
      const info = await stat(real);
      if (!info.isFile()) {
        throw new InvalidArgumentError(`${file} is not a regular file${real === file ? "" : ` (it leads to ${real})`}`, "path");
      }
      realSources.push(real);
    }
    const realModelsDir = await realpath(modelsDir).catch(() => modelsDir);
    const realRelative = path.relative(realModelsDir, realSources[0]!);
    if (!realRelative.startsWith("..") && !path.isAbsolute(realRelative)) {
      throw new InvalidArgumentError("This file is already in the models folder", "path");
    }
    if (!(await isGgufFile(realSources[0]!))) throw new InvalidArgumentError(`${path.basename(sources[0]!)} is not a GGUF file`, "path");
    const targets = sources.map((file) => path.join(modelsDir, path.basename(file)));
    for (const target of targets) {
      if (await stat(target).catch(() => undefined)) {
        throw new InvalidArgumentError(`The models folder already has ${path.basename(target)}`, "path");
      }
    }
    const placed: string[] = [];
    try {
      for (const [index, file] of realSources.entries()) {
        const target = targets[index]!;
        try {
          await link(file, target);
        } catch {
          const temporary = path.join(modelsDir, `.${path.basename(target)}.importing`);
          await copyFile(file, temporary, constants.COPYFILE_EXCL);
          await rename(temporary, target).catch(async (error: unknown) => {
            await rm(temporary, { force: true });
            throw error;
          });
        }
        placed.push(target);
      }
    } catch (error) {
      await Promise.all(placed.map((target) => rm(target, { force: true })));
      throw new InvalidArgumentError(`Could not import ${path.basename(source)}: ${(error as Error).message}`, "path");
    }
    const firstPath = path.relative(modelsDir, targets[0]!).split(path.sep).join("/");
    const model = (await this.deps.library.list()).find((candidate) => candidate.files[0]?.path === firstPath);
    if (!model) throw new ModelNotFoundError(firstPath);
    return model;
  }

  async searchHub(request: { query: string; sort?: HubSearchSort; limit?: number }): Promise<HubModel[]> {
    const { query, sort, limit } = parseRequest(searchHubRequest, request);
    return this.deps.hub.search({ search: query.trim() || undefined, sort, limit });
  }

  /** A repository's files by quantization, with a fit estimate per file read from its remote header. */
  async hubFiles(request: { repo: string; contextSize?: number }): Promise<HubRepoWithFit> {
    const { repo, contextSize } = parseRequest(hubFilesRequest, request);
    const { hub } = this.deps;
    const { models, ...files } = await hub.listGgufFiles(repo);
    const machine = await probeMachineResources(await this.deps.llama());
    const fit: Record<string, FitEstimate> = {};
    const revision = files.commit ?? files.revision;
    await mapLimit(
      models.filter((model) => !model.projector && model.complete),
      FIT_CONCURRENCY,
      async (model) => {
        try {
          fit[model.path] = (await hub.estimateFit(repo, model.path, { revision, contextSize, sequences: DEFAULT_PARALLEL, machine })).fit;
        } catch {
          // A split model is still judged by the size of all its parts; a single file whose
          // header cannot be read (not a GGUF file, most likely) gets no estimate.
          if (model.parts.length > 1) fit[model.path] = roughFitEstimate(model.sizeBytes, machine, { contextSize, sequences: DEFAULT_PARALLEL });
        }
      },
    );
    // The same pick as `hf:owner/repo` downloads, among the files whose estimate allows them.
    const best = pickQuantization(
      models.filter((model) => fit[model.path] !== undefined && fit[model.path]!.verdict !== "too large"),
      machine,
    );
    return { ...files, fit, ...(best ? { bestFit: best.path } : {}) };
  }

  async modelCard(request: { repo: string }): Promise<HubModelCard> {
    const { repo } = parseRequest(modelCardRequest, request);
    return this.deps.hub.modelCard(repo);
  }

  async starters(): Promise<StarterModelInfo[]> {
    return STARTER_MODELS.map((starter) => ({ ...starter }));
  }

  /** Each starter's file for this machine (as `pull <name>` picks it), read from the hub a few repositories at a time. */
  async starterFiles(): Promise<StarterModelFile[]> {
    const machine = await probeMachineResources(await this.deps.llama());
    const results = new Map<string, StarterModelFile>();
    await mapLimit(STARTER_MODELS, FIT_CONCURRENCY, async (starter) => {
      try {
        const { models } = await this.deps.hub.listGgufFiles(starter.repo);
        const file = pickStarterFile(starter, models, machine);
        results.set(
          starter.name,
          file
            ? { name: starter.name, path: file.path, ...(file.quant ? { quant: file.quant } : {}), sizeBytes: file.sizeBytes }
            : { name: starter.name, error: "No quantization fits this machine's free memory" },
        );
      } catch (error) {
        results.set(starter.name, { name: starter.name, error: (error as Error).message });
      }
    });
    return STARTER_MODELS.map((starter) => results.get(starter.name)!);
  }

  async hubToken(): Promise<HubTokenStatus> {
    return this.deps.hubToken.status();
  }

  async setHubToken(request: { token: string }): Promise<HubTokenStatus> {
    const { token } = parseRequest(setHubTokenRequest, request);
    return this.deps.hubToken.set(token);
  }

  async clearHubToken(): Promise<HubTokenStatus> {
    return this.deps.hubToken.clear();
  }

  async catalog(): Promise<CatalogEntry[]> {
    return (await this.deps.catalog.list()).map((model) => ({
      id: model.id,
      kind: model.kind,
      providers: [...model.providers],
      capabilities: { chat: model.capabilities.chat, embeddings: model.capabilities.embeddings },
    }));
  }

  onLibraryChanged = (listener: (models: LibraryModel[]) => void): Unsubscribe => {
    this.deps.library.on("changed", listener);
    return () => this.deps.library.off("changed", listener);
  };

  onLoadedChanged = (listener: (models: LoadedModelState[]) => void): Unsubscribe => {
    const withRunInfo = (models: LoadedModelState[]): void => listener(this.withRunInfo(models));
    this.deps.residency.on("changed", withRunInfo);
    return () => this.deps.residency.off("changed", withRunInfo);
  };

  /** The loaded models with the context size and sequences each runs with (what the library shows beside the trained context). */
  private withRunInfo(models: LoadedModelState[]): LoadedModelState[] {
    return models.map((state) => {
      const info = this.deps.residency.get(state.id)?.info;
      return info ? { ...state, contextSize: info.contextSize, parallel: info.parallel, memoryBytes: loadedModelMemoryBytes(info.stats) } : state;
    });
  }

  /** The library id of a reference (paths outside the models folder are refused). @throws ModelNotFoundError */
  private libraryId(ref: string): string {
    if (path.isAbsolute(ref) || ref.startsWith(".") || ref.includes("\\")) {
      throw new InvalidArgumentError(`'${ref}' is not a model id of the library; import the file first`, "id");
    }
    return this.deps.engine.resolveModel(ref).id;
  }

  /** Unloads a model: now when it is idle, else as soon as its last request ends. */
  private async unloadNow(id: string): Promise<void> {
    await this.deps.residency.unload(id);
  }
}
