import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { ChatMessage } from "../../shared/api/generation.js";
import type { LibraryModel, MemoryEstimate } from "../../shared/api/library.js";
import type { EffectiveLoadOptions } from "../../shared/api/loadOptions.js";
import type { Engine } from "../engine/Engine.js";
import type { ModelResidency } from "../engine/ModelResidency.js";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.js";
import type { DownloadManager, DownloadTask, StartDownloadOptions } from "../models/downloads/DownloadManager.js";
import type { ModelLibrary } from "../models/ModelLibrary.js";
import { LOCAL_PROVIDER_ID } from "../router/LocalProvider.js";
import type { ModelCapabilities } from "../router/Provider.js";
import type { ProviderRegistry } from "../router/ProviderRegistry.js";
import type { RouteDefinition, Router } from "../router/Router.js";
import type { UserAliasStore } from "../router/UserAliasStore.js";

/** One model clients can ask for: local, remote, or an alias of the router. */
export interface CatalogModel {
  id: string;
  kind: "local" | "remote" | "alias";
  /** Providers that serve it, this machine first. */
  providers: string[];
  capabilities: ModelCapabilities;
  /** ms since the epoch, when known. */
  createdAt?: number;
  /** The library's details of a model in the models folder. */
  library?: LibraryModel;
}

/** A model loaded on this machine (Ollama's `/api/ps`, `/health`). */
export interface RunningModel {
  id: string;
  contextSize: number;
  parallel: number;
  busySequences: number;
  waitingRequests: number;
  memory: MemoryEstimate;
  keepAliveMs: number;
  /** When it unloads if it stays idle (ms since the epoch); undefined while in use or kept forever. */
  expiresAt?: number;
  /** The runtime options it runs with (flash attention, KV cache types, batch size, mmap, mlock). */
  loadOptions?: EffectiveLoadOptions;
}

/** What the catalogue reads. */
export interface ModelCatalogDeps {
  registry: ProviderRegistry;
  router: Router;
  library: ModelLibrary;
  residency: ModelResidency;
  engine: Engine;
  /** Aliases made at run time (Ollama's copy). Default: none can be made. */
  userAliases?: UserAliasStore;
  /** The downloads (a getter: the catalogue is built before them). Default: no pulls. */
  downloads?: () => DownloadManager;
}

/**
 * Files up to this size get their real content sha256 as digest (read once, then cached);
 * bigger ones without a hub-verified sha256 get a sha256 of path, size and modification time,
 * so listing a folder of multi-GB models never reads them whole.
 */
const CONTENT_DIGEST_MAX_BYTES = 512 * 1024 ** 2;

/**
 * Every model the server can answer for, local and remote alike: the one list behind
 * `/v1/models`, `/api/tags`, `/api/ps`, `/api/show` and the app's model pickers.
 */
export class ModelCatalog {
  private readonly digests = new Map<string, Promise<string>>();

  constructor(private readonly deps: ModelCatalogDeps) {}

  async list(): Promise<CatalogModel[]> {
    const { registry, router, library } = this.deps;
    const byId = new Map<string, CatalogModel>();
    const libraryById = new Map((await library.list()).map((model) => [model.id, model]));
    for (const provider of registry.list()) {
      let models;
      try {
        models = await registry.modelsOf(provider.id);
      } catch {
        continue;
      }
      for (const model of models) {
        const existing = byId.get(model.id);
        if (existing) {
          existing.providers.push(provider.id);
          continue;
        }
        const local = provider.id === LOCAL_PROVIDER_ID ? libraryById.get(model.id) : undefined;
        byId.set(model.id, {
          id: model.id,
          kind: provider.kind,
          providers: [provider.id],
          capabilities: model.capabilities,
          ...(model.createdAt !== undefined ? { createdAt: model.createdAt } : {}),
          ...(local ? { library: local } : {}),
        });
      }
    }
    for (const route of router.listRoutes()) {
      if (byId.has(route.alias)) continue;
      const targets = route.targets.map((target) => byId.get(target.model)).filter((model): model is CatalogModel => model !== undefined);
      byId.set(route.alias, {
        id: route.alias,
        kind: "alias",
        providers: [...new Set(route.targets.map((target) => target.provider))],
        capabilities: targets[0]?.capabilities ?? { chat: true, embeddings: false, tools: true, jsonSchema: true },
      });
    }
    return [...byId.values()];
  }

  async find(id: string): Promise<CatalogModel | undefined> {
    return (await this.list()).find((model) => model.id === id);
  }

  /** The canonical id of a model of this machine's library ("x.gguf" → "x"), or undefined when it has none. */
  localId(ref: string): string | undefined {
    try {
      // A loaded model (also a file the operator imported from elsewhere), else a library id.
      return this.deps.residency.get(ref)?.id ?? this.deps.engine.resolveModel(ref).id;
    } catch {
      return undefined;
    }
  }

  /**
   * The id to route a stored reference to, without waiting: a local model's canonical id
   * ("x.gguf" → "x"), an alias, or a remote model as last discovered; undefined when nobody
   * serves it.
   */
  resolve(ref: string): string | undefined {
    const local = this.localId(ref);
    if (local !== undefined) return local;
    if (this.deps.router.listRoutes().some((route) => route.alias === ref)) return ref;
    return this.deps.registry.status().some((provider) => provider.models.includes(ref)) ? ref : undefined;
  }

  /**
   * Exact tokens of a chat in a loaded local model's template, and its context size;
   * undefined when the model is not loaded here (callers estimate).
   */
  async localContextUsage(ref: string, messages: readonly ChatMessage[]): Promise<{ usedTokens: number; contextSize: number } | undefined> {
    const id = this.localId(ref);
    const loaded = id === undefined ? undefined : this.deps.residency.get(id);
    if (!loaded) return undefined;
    return { usedTokens: await loaded.countChatTokens(messages), contextSize: loaded.contextSize };
  }

  /** A local model's chat template as its GGUF file has it ("" without one). */
  async chatTemplate(model: LibraryModel): Promise<string> {
    const { readGgufFileInfo } = await import("node-llama-cpp");
    const info = await readGgufFileInfo(this.deps.library.filePath(model), { readTensorInfo: false, logWarnings: false });
    const tokenizer = (info.metadata as { tokenizer?: { chat_template?: unknown } }).tokenizer;
    return typeof tokenizer?.chat_template === "string" ? tokenizer.chat_template : "";
  }


  /** The library's entry of a local model a reference names ("x", "x.gguf"), or undefined. */
  async localModel(ref: string): Promise<LibraryModel | undefined> {
    const id = this.localId(ref);
    return id === undefined ? undefined : this.deps.library.get(id);
  }

  /**
   * A stable sha256 (hex) of a local model: the hub's verified sha256 when it was downloaded
   * whole from there, else of its content (files up to {@link CONTENT_DIGEST_MAX_BYTES}), else of
   * its paths, sizes and modification time. Computed once per file version.
   */
  digest(model: LibraryModel): Promise<string> {
    if (model.origin?.sha256 && model.files.length === 1) return Promise.resolve(model.origin.sha256);
    const key = `${model.id}\u0000${model.sizeBytes}\u0000${model.modifiedAt}`;
    let digest = this.digests.get(key);
    if (!digest) {
      digest = this.computeDigest(model);
      this.digests.set(key, digest);
      digest.catch(() => this.digests.delete(key));
    }
    return digest;
  }

  private async computeDigest(model: LibraryModel): Promise<string> {
    const hash = createHash("sha256");
    if (model.sizeBytes > CONTENT_DIGEST_MAX_BYTES) {
      hash.update(JSON.stringify({ files: model.files, modifiedAt: model.modifiedAt }));
      return hash.digest("hex");
    }
    for (const file of model.files) {
      for await (const chunk of createReadStream(this.deps.library.filePath({ ...model, files: [file] }))) hash.update(chunk as Buffer);
    }
    return hash.digest("hex");
  }

  /**
   * Starts downloading a model (any reference `pull` takes, e.g. `hf:owner/repo:Q4_K_M`).
   * @throws InvalidArgumentError for a malformed reference.
   */
  pull(ref: string, options: StartDownloadOptions = {}): DownloadTask {
    const downloads = this.deps.downloads?.();
    if (!downloads) throw new InvalidArgumentError("This server cannot download models");
    return downloads.start(ref, options);
  }

  /**
   * Deletes a user alias, or a local model's files (unloading it first, as the app's delete
   * does). Aliases of the config file and remote models cannot be deleted.
   * @throws ModelNotFoundError, InvalidArgumentError when the model is in use or not deletable
   */
  async remove(name: string): Promise<void> {
    const { userAliases, router, residency, library } = this.deps;
    if (userAliases?.has(name)) {
      userAliases.remove(name);
      router.removeRoute(name);
      return;
    }
    const local = await this.localModel(name);
    if (!local) {
      if (router.listRoutes().some((route) => route.alias === name)) throw new InvalidArgumentError(`'${name}' is an alias of the config file: edit the file to remove it`, "model");
      throw new ModelNotFoundError(name);
    }
    const state = residency.list().find((model) => model.id === local.id);
    if (state && state.activeRequests > 0) throw new InvalidArgumentError(`'${local.id}' is in use; stop its requests first`, "model");
    await residency.unload(local.id);
    await library.remove(local.id);
    // User aliases of it alone (its pulled name, copies) would now name nothing.
    for (const alias of userAliases?.list() ?? []) {
      if (alias.targets.every((target) => target.provider === LOCAL_PROVIDER_ID && target.model === local.id)) {
        userAliases!.remove(alias.alias);
        router.removeRoute(alias.alias);
      }
    }
  }

  /**
   * Makes `destination` a name of `source` (Ollama's copy): a user alias, kept across restarts,
   * with the source's targets (an alias's copy routes as the alias does).
   * @throws ModelNotFoundError for an unknown source, InvalidArgumentError for a destination in use
   */
  async copy(source: string, destination: string): Promise<void> {
    const { userAliases, router } = this.deps;
    if (!userAliases) throw new InvalidArgumentError("This server cannot make aliases");
    if (destination === source) throw new InvalidArgumentError("source and destination are the same name", "destination");
    const existing = await this.find(destination);
    if (existing && !userAliases.has(destination)) throw new InvalidArgumentError(`'${destination}' is already a model or an alias of the config file`, "destination");
    const route = router.listRoutes().find((candidate) => candidate.alias === source);
    let definition: RouteDefinition;
    if (route) {
      definition = { ...route, alias: destination };
    } else {
      const localId = this.localId(source);
      const entry = localId === undefined ? await this.find(source) : undefined;
      if (localId === undefined && !entry) throw new ModelNotFoundError(source);
      definition = {
        alias: destination,
        targets: localId !== undefined ? [{ provider: LOCAL_PROVIDER_ID, model: localId }] : entry!.providers.map((provider) => ({ provider, model: source })),
      };
    }
    userAliases.put(definition);
    router.putRoute(definition);
  }

  /** Models loaded on this machine now. */
  running(): RunningModel[] {
    const loaded = new Map(this.deps.residency.loadedModels().map((model) => [model.id, model]));
    return this.deps.residency
      .list()
      .filter((state) => state.state === "loaded")
      .map((state) => {
        const model = loaded.get(state.id);
        return {
          id: state.id,
          contextSize: model?.contextSize ?? 0,
          parallel: model?.info.parallel ?? 0,
          busySequences: model?.sequences.busy ?? 0,
          waitingRequests: model?.sequences.waiting ?? 0,
          memory: state.memory,
          keepAliveMs: state.keepAliveMs,
          ...(state.expiresAt !== undefined ? { expiresAt: state.expiresAt } : {}),
          ...(model?.info.loadOptions ? { loadOptions: model.info.loadOptions } : {}),
        };
      });
  }

  /** The context size of a loaded local model, or undefined. */
  loadedContextSize(id: string): number | undefined {
    const localId = this.localId(id);
    return localId === undefined ? undefined : this.deps.residency.get(localId)?.contextSize;
  }
}
