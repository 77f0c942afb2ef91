import type { ChatMessage } from "../../shared/api/generation.js";
import type { LibraryModel, MemoryEstimate } from "../../shared/api/library.js";
import type { EffectiveLoadOptions } from "../../shared/api/loadOptions.js";
import type { Engine } from "../engine/Engine.js";
import type { ModelResidency } from "../engine/ModelResidency.js";
import type { ModelLibrary } from "../models/ModelLibrary.js";
import { LOCAL_PROVIDER_ID } from "../router/LocalProvider.js";
import type { ModelCapabilities } from "../router/Provider.js";
import type { ProviderRegistry } from "../router/ProviderRegistry.js";
import type { Router } from "../router/Router.js";

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
}

/**
 * Every model the server can answer for, local and remote alike: the one list behind
 * `/v1/models`, `/api/tags`, `/api/ps`, `/api/show` and the app's model pickers.
 */
export class ModelCatalog {
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
