import { mkdirSync } from "node:fs";
import path from "node:path";
import { defaultDataDir, defaultModelsDir } from "./appPaths.js";
import { Engine, type ModelLoadOptions } from "./engine/Engine.js";
import type { LocalModel } from "./engine/LocalModel.js";
import { ModelResidency, type ResidencyLoader } from "./engine/ModelResidency.js";
import { InferenceService } from "./inference/InferenceService.js";
import { ModelCatalog } from "./inference/ModelCatalog.js";
import { LocalProvider } from "./router/LocalProvider.js";
import { ProviderRegistry } from "./router/ProviderRegistry.js";
import { normalizeUpstreamUrl, RemoteProviders } from "./router/RemoteProviders.js";
import { ResponseCache } from "./router/ResponseCache.js";
import { Router } from "./router/Router.js";
import type { ProviderConfig, RouterConfig } from "./router/routerConfig.js";
import { registerRouterMetrics } from "./router/routerMetrics.js";
import { UsageLedger } from "./router/UsageLedger.js";
import { UserAliasStore } from "./router/UserAliasStore.js";
import { ProviderStore } from "./storage/ProviderStore.js";
import { ResponseStore, type ResponseStoreOptions } from "./storage/ResponseStore.js";
import { createBatchLineExecutor } from "./api/batches/batchLineExecutor.js";
import { BatchRunner } from "./batches/BatchRunner.js";
import { registerBatchMetrics } from "./batches/batchMetrics.js";
import { BatchStore } from "./storage/BatchStore.js";
import { FileStore } from "./storage/FileStore.js";
import { MemoryStore } from "./storage/MemoryStore.js";
import { Metrics } from "./telemetry/Metrics.js";
import { AppDatabase } from "./storage/AppDatabase.js";
import { AuditLog } from "./storage/AuditLog.js";
import type { Backend } from "./llama/backend.js";
import type { LlamaRuntime } from "./llama/LlamaRuntime.js";
import { resolveThreadCount } from "./llama/resolveThreadCount.js";
import { ModelHostLoader, type ModelHostOptions } from "./modelhost/ModelHostLoader.js";
import { createLogger, type Logger } from "./logger.js";
import { createSystemMemoryProbe, type MemoryProbe } from "./models/library/memoryProbe.js";
import { ModelLibrary } from "./models/ModelLibrary.js";
import { DownloadManager, type DownloadManagerOptions } from "./models/downloads/DownloadManager.js";
import { HubClient, type HubClientOptions } from "./models/hub/HubClient.js";
import { FileHubTokenVault, HUB_TOKEN_FILE, HubTokenStore, type HubTokenVault } from "./models/hub/HubTokenStore.js";
import { probeMachineResources } from "./models/hub/machineResources.js";
import { createContractApi, type ContractApi, type ContractApiOptions } from "./contract/createContractApi.js";
import type { EngineBuildInfo } from "../shared/contract/engine.js";
import { ENGINE_DIR_ENV, engineDirOf } from "./engine-build/engineBuildPaths.js";
import { describeChoice, selectEngineBuild } from "./engine-build/selectEngineBuild.js";
import { loadedModelMemoryBytes } from "./telemetry/modelMemory.js";

/** Options of {@link createCore}. */
export interface CoreOptions {
  /** Folder of GGUF models. Default: env `MARDUK_MODELS_DIR`, else the OS data folder's `models`. */
  modelsDir?: string;
  /** Folder of the app's own data (database). Default: env `MARDUK_DATA_DIR`, else the OS data folder. */
  dataDir?: string;
  /** SQLite file, or ":memory:". Default: `<dataDir>/marduk.db`. */
  databaseFile?: string;
  /** Keep prompt text in the audit log. Default: false (only counts and metadata). */
  auditPrompts?: boolean;
  /** Bounds of the Responses API's stored responses. Default: 1000 responses, 30 days. */
  responseStore?: ResponseStoreOptions;
  /** Compute backend. Default: "auto". */
  backend?: Backend;
  /** CPU threads per evaluation. Default: about one per physical core (see resolveThreadCount). */
  threads?: number;
  /** Defaults of every model load. */
  loadDefaults?: ModelLoadOptions;
  /** Default: a pino logger on standard error. */
  logger?: Logger;
  /** Idle time after which a model unloads, in ms; 0: as soon as idle; negative: never. Default: 15 minutes. */
  keepAliveMs?: number;
  /**
   * Most memory (RAM plus VRAM, by estimate) that loaded models may take together; least
   * recently used idle models are unloaded to stay within it. Default: none, only the machine's free memory.
   */
  memoryBudgetBytes?: number;
  /** Reads free RAM/VRAM for residency decisions. Default: the OS, and llama.cpp for VRAM. */
  memoryProbe?: MemoryProbe;
  /** Watch the models dir and emit the library's `changed` events. Default: true. */
  watchModels?: boolean;
  /** Hugging Face hub settings. Default: env `HF_ENDPOINT`, and the token of {@link hubTokenVault} (env `HF_TOKEN` winning). */
  hub?: HubClientOptions;
  /**
   * Where a Hugging Face token entered in the UI is kept, given the data folder. Default: the
   * 0600 file `<dataDir>/hf-token`; the desktop app passes Electron's safeStorage.
   */
  hubTokenVault?: (dataDir: string) => HubTokenVault;
  /** Download settings (concurrency, retries, ...). Default: see DownloadManagerOptions. */
  downloads?: Omit<DownloadManagerOptions, "modelsDir" | "hub">;
  /** Options of the UI contract (metrics sampling). Default: see ContractApiOptions. */
  contract?: ContractApiOptions;
  /** Remote providers, routes and router settings (`serve --config`). Default: this machine only. */
  routing?: RouterConfig;
  /** Remote OpenAI-compatible servers given on the command line (`serve --upstream`), ids upstream-1, upstream-2, ... Default: none. */
  upstreams?: { url: string; apiKey?: string }[];
  /**
   * Where the residency's models run: "process" loads each in a model host process of its own
   * (src/core/modelhost), so a crash in llama.cpp or a chat template fails only that model's
   * requests; "in-process" loads them in this process, as `engine.loadModel` always does (for
   * benchmarks and embedding). Default: "process".
   */
  modelHost?: "process" | "in-process";
  /** Settings of model host processes (how they start, watchdog, crash backoff). Default: see ModelHostOptions. */
  modelHostOptions?: ModelHostOptions;
}

/** Everything the app does, for the HTTP API, the CLI and the Electron main process. */
export interface Core {
  readonly modelsDir: string;
  /** `<data dir>/engine`: the record of the local llama.cpp build (`marduk-local engine build`). */
  readonly engineDir: string;
  readonly logger: Logger;
  /**
   * Resolves model ids, estimates memory, and loads models in this process (`engine.loadModel`:
   * the caller owns what it returns). The residency loads through it, or through model hosts.
   */
  readonly engine: Engine;
  /** Where the residency's models run (see {@link CoreOptions.modelHost}). */
  readonly modelHost: "process" | "in-process";
  /** The models in the models dir: scanned, watched (emits `changed`), with GGUF metadata. */
  readonly library: ModelLibrary;
  /** Loads models just in time and keeps them while they are used. */
  readonly residency: ModelResidency;
  /** Chat, completion and embeddings for every protocol adapter: the one door, in front of the router. */
  readonly inference: InferenceService;
  /** Every model clients can ask for, local and remote (the lists of every dialect and the app). */
  readonly catalog: ModelCatalog;
  /** Picks who serves each request: this machine or a remote, by route and policy. */
  readonly router: Router;
  /** This machine and the remotes, with health and breakers. */
  readonly providers: ProviderRegistry;
  /** Remote providers from the config, the command line and the app. */
  readonly remoteProviders: RemoteProviders;
  /** Usage and cost per provider, model and API key. */
  readonly usage: UsageLedger;
  /** Prometheus metrics. */
  readonly metrics: Metrics;
  /** The app's SQLite database. */
  readonly database: AppDatabase;
  /** Stored responses of the OpenAI Responses API (`previous_response_id`). */
  readonly responses: ResponseStore;
  /** Agents' memory: collections of embedded texts (sqlite-vec), `/v1/memory/...`. */
  readonly memory: MemoryStore;
  /** Files of the Files API (batch inputs and outputs, in SQLite). */
  readonly files: FileStore;
  /** The Batch API's jobs: runs them in the background below interactive requests, resumes them after a restart. */
  readonly batches: BatchRunner;
  /** Every API request: who, what, how many tokens, status. */
  readonly auditLog: AuditLog;
  /** The Hugging Face hub (or HF_ENDPOINT's mirror): search, files by quantization, fit estimates. */
  readonly hub: HubClient;
  /** The Hugging Face token (env `HF_TOKEN`, else the one entered in the UI). */
  readonly hubToken: HubTokenStore;
  /** Model downloads: resumable, verified against the hub's sha256, bounded concurrency. */
  readonly downloads: DownloadManager;
  /**
   * The typed contract the UI talks to (over IPC, WebSocket or in memory): conversations,
   * chat, models, downloads, metrics, server and settings. Created on first use.
   */
  readonly contract: ContractApi;
  /** The llama.cpp runtime, created on first use (importing node-llama-cpp takes ~0.5 s). */
  runtime(): Promise<LlamaRuntime>;
  /** True once the runtime exists (for health reports that must not create it). */
  readonly runtimeReady: boolean;
  /** Which llama.cpp build runs: the runtime's once it exists, else the one a runtime (or model host) starting now picks. Loads nothing. */
  engineBuild(): Promise<EngineBuildInfo>;
  /** Unloads every model and releases llama.cpp. */
  dispose(): Promise<void>;
}

/** The composition root: builds the core services and wires them together. */
export function createCore(options: CoreOptions = {}): Core {
  const modelsDir = path.resolve(options.modelsDir ?? defaultModelsDir());
  const dataDir = path.resolve(options.dataDir ?? process.env.MARDUK_DATA_DIR ?? defaultDataDir());
  mkdirSync(modelsDir, { recursive: true });
  const engineDir = engineDirOf(dataDir);
  const logger = options.logger ?? createLogger();
  let runtimePromise: Promise<LlamaRuntime> | undefined;
  let runtimeReady = false;
  let createdRuntime: LlamaRuntime | undefined;
  const runtime = (): Promise<LlamaRuntime> => {
    runtimePromise ??= import("./llama/LlamaRuntime.js")
      .then(({ LlamaRuntime }) => LlamaRuntime.create({ backend: options.backend, threads: options.threads, logger, engineDir }))
      .then((created) => {
        createdRuntime = created;
        runtimeReady = true;
        logger.info({ backend: created.backend, threads: created.threads }, "llama.cpp runtime ready");
        return created;
      });
    return runtimePromise;
  };
  const metrics = new Metrics({
    loadedModels: () => residency.loadedModels().map((model) => ({ id: model.id, ...model.sequences, memoryBytes: loadedModelMemoryBytes(model.stats) })),
  });
  const engine = new Engine({
    runtime,
    modelsDir,
    logger,
    loadDefaults: options.loadDefaults,
    onModelLoaded: (model) => metrics.recordModelLoad(model.id, model.stats.loadMs / 1000),
  });
  const database = new AppDatabase(options.databaseFile ?? path.join(dataDir, "marduk.db"));
  const auditLog = new AuditLog(database, { logPrompts: options.auditPrompts });
  const responses = new ResponseStore(database, options.responseStore);
  const library = new ModelLibrary({ modelsDir, logger, watch: options.watchModels ?? true });
  const modelHost = options.modelHost ?? "process";
  const hostLoader =
    modelHost === "process"
      ? new ModelHostLoader({
          ...options.modelHostOptions,
          // Each host picks the engine build at its start (see LlamaRuntime).
          env: { ...options.modelHostOptions?.env, [ENGINE_DIR_ENV]: engineDir },
          engine,
          loadDefaults: options.loadDefaults,
          backend: options.backend,
          threads: resolveThreadCount(options.threads),
          logger,
          onModelLoaded: (model) => metrics.recordModelLoad(model.id, model.stats.loadMs / 1000),
        })
      : undefined;
  const loader: ResidencyLoader<LocalModel> = hostLoader ?? engine;
  const residency = new ModelResidency<LocalModel>(loader, {
    keepAliveMs: options.keepAliveMs,
    memoryBudgetBytes: options.memoryBudgetBytes,
    memoryProbe: options.memoryProbe ?? createSystemMemoryProbe(async () => (await runtime()).llama),
    logger,
  });
  const routing = options.routing;
  const providers = new ProviderRegistry({
    ...(routing?.router.healthIntervalMs !== undefined ? { healthIntervalMs: routing.router.healthIntervalMs } : {}),
    ...(routing?.router.breaker ? { breaker: routing.router.breaker } : {}),
    logger,
  });
  providers.set(new LocalProvider(residency, library), "local");
  const usage = new UsageLedger(database, metrics.registry);
  const cache = new ResponseCache(routing?.router.cache);
  const recordCacheLookup = registerRouterMetrics(metrics.registry, providers, cache);
  const userAliases = new UserAliasStore(path.join(dataDir, "aliases.json"), logger);
  const router = new Router({
    registry: providers,
    // The config's routes come last, so they win over a user alias of the same name.
    routes: [...userAliases.list(), ...(routing?.routes ?? [])],
    cache,
    ...(routing?.router.defaultPolicy ? { defaultPolicy: routing.router.defaultPolicy } : {}),
    onRecord: (record) => usage.record(record),
    onCacheLookup: (hit) => recordCacheLookup(hit),
    logger,
  });
  const remoteProviders = new RemoteProviders(providers, new ProviderStore(database), logger);
  const upstreams = (options.upstreams ?? []).map((upstream, index): { config: ProviderConfig; source: "cli" } => ({
    config: { id: `upstream-${index + 1}`, baseUrl: normalizeUpstreamUrl(upstream.url), ...(upstream.apiKey ? { apiKey: upstream.apiKey } : {}) },
    source: "cli",
  }));
  remoteProviders.start([...(routing?.providers ?? []).map((config) => ({ config, source: "config" as const })), ...upstreams]);
  const inference = new InferenceService({ router, residency, metrics, logger });
  // The memory store embeds through the door, as any client would (routing, metrics, the ledger).
  const memory = new MemoryStore(database, async (model, texts, request) => (await inference.embed(model, texts, request)).embeddings);
  // Batch lines go through the door as their routes' requests do (background priority).
  const files = new FileStore(database);
  const batchStore = new BatchStore(database);
  const batches = new BatchRunner({ batches: batchStore, files, execute: createBatchLineExecutor({ inference }), logger: logger.child({ component: "batches" }) });
  const stopBatchMetrics = registerBatchMetrics(metrics.registry, batchStore, batches);
  batches.start();
  const catalog = new ModelCatalog({ registry: providers, router, library, residency, engine, userAliases, downloads: () => downloads });
  // Fit estimates and quantization picks use the llama.cpp runtime for VRAM when it starts.
  const llamaForEstimates = async () => (await runtime().catch(() => undefined))?.llama;
  const hubToken = new HubTokenStore({
    vault: options.hubTokenVault?.(dataDir) ?? new FileHubTokenVault(path.join(dataDir, HUB_TOKEN_FILE)),
    envToken: process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN || undefined,
  });
  const hub = new HubClient({
    endpoint: process.env.HF_ENDPOINT || undefined,
    token: () => hubToken.token(),
    llama: llamaForEstimates,
    ...options.hub,
  });
  const downloads = new DownloadManager({
    machine: async () => probeMachineResources(await llamaForEstimates()),
    logger,
    ...options.downloads,
    modelsDir,
    hub,
  });
  let contract: ContractApi | undefined;
  return {
    modelsDir,
    engineDir,
    logger,
    engine,
    modelHost,
    library,
    residency,
    inference,
    catalog,
    router,
    providers,
    remoteProviders,
    usage,
    metrics,
    database,
    responses,
    memory,
    files,
    batches,
    auditLog,
    hub,
    hubToken,
    downloads,
    runtime,
    get runtimeReady() {
      return runtimeReady;
    },
    engineBuild: async () =>
      createdRuntime?.build ?? describeChoice(await selectEngineBuild({ engineDir, backend: options.backend }), options.backend),
    get contract(): ContractApi {
      contract ??= createContractApi(this, options.contract);
      return contract;
    },
    async dispose() {
      // First: stopped chat generations store their partial replies while the database is open.
      await contract?.dispose();
      // Before the models go: the running line is aborted, unrecorded, and runs again at the next start.
      await batches.dispose();
      stopBatchMetrics();
      await downloads.dispose();
      hub.dispose();
      library.dispose();
      providers.dispose();
      await residency.dispose();
      await hostLoader?.dispose();
      await engine.dispose();
      metrics.dispose();
      responses.dispose();
      memory.dispose();
      files.dispose();
      batchStore.dispose();
      database.dispose();
      if (runtimePromise) await (await runtimePromise.catch(() => undefined))?.dispose();
    },
  };
}
