import type { Llama } from "node-llama-cpp";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { MardukApi } from "../../shared/contract/index.js";
import type { LiveApiAccess } from "../api/security/registerSecurity.js";
import type { Core } from "../createCore.js";
import { ApiKeyStore } from "../storage/ApiKeyStore.js";
import { ConversationStore } from "../storage/ConversationStore.js";
import { SettingsStore } from "../storage/SettingsStore.js";
import { ChatService } from "./ChatService.js";
import { ConversationsService } from "./ConversationsService.js";
import { DownloadsService } from "./DownloadsService.js";
import { EngineBuilder } from "../engine-build/EngineBuilder.js";
import { EngineService } from "./EngineService.js";
import { JobsService } from "./JobsService.js";
import { MetricsService, type MetricsServiceOptions } from "./MetricsService.js";
import { ModelsService } from "./ModelsService.js";
import { ProvidersService, type ProvidersServiceOptions } from "./ProvidersService.js";
import type { ServerController } from "./ServerController.js";
import { ServerService } from "./ServerService.js";
import { SettingsService } from "./SettingsService.js";

/**
 * The contract implemented over the core (what the UI talks to through IPC, WebSocket or the
 * in-memory transport), plus what only the process itself uses: the live API access settings
 * for the HTTP guards, the hook that connects the running HTTP server, and dispose. The RPC
 * only reaches the contract's groups (CONTRACT_MEMBERS), never these extras.
 */
export interface ContractApi extends MardukApi {
  /** Keys and CORS origins managed in the app; the HTTP guards read them per request. */
  readonly access: LiveApiAccess;
  /** Connects the HTTP server that runs (headless `serve`, or the desktop app's); returns the disconnect. */
  attachServer(controller: ServerController): Unsubscribe;
  /** Stops generations (their partial replies are stored) and the metrics sampler, drops listeners. */
  dispose(): Promise<void>;
}

/** Options of {@link createContractApi}. */
export interface ContractApiOptions {
  /** The metrics sampler (interval, capacity, sources for tests). Default: 1 Hz, 300 samples. */
  metrics?: MetricsServiceOptions;
  /** The providers group (how often `onChanged` may fire). Default: see ProvidersServiceOptions. */
  providers?: ProvidersServiceOptions;
  /** The engine group's builder (tests inject a fake worker). Default: builds into node-llama-cpp's localBuilds, records in `core.engineDir`. */
  engineBuilder?: EngineBuilder;
}

/** The core's parts the contract uses. */
export type ContractCore = Pick<
  Core,
  | "modelsDir"
  | "logger"
  | "engine"
  | "library"
  | "residency"
  | "inference"
  | "catalog"
  | "remoteProviders"
  | "providers"
  | "usage"
  | "batches"
  | "database"
  | "hub"
  | "hubToken"
  | "downloads"
  | "runtime"
  | "runtimeReady"
  | "engineDir"
  | "engineBuild"
>;

/**
 * Builds the contract over a core: SQLite stores (conversations, settings, API keys) on the
 * core's database, and one service per group. Cheap to create: nothing runs until used (the
 * metrics sampler only samples while someone watches).
 */
export function createContractApi(core: ContractCore, options: ContractApiOptions = {}): ContractApi {
  const conversationStore = new ConversationStore(core.database);
  const settingsStore = new SettingsStore(core.database);
  const keyStore = new ApiKeyStore(core.database);

  // The runtime is only read once it exists: the UI never pays for starting llama.cpp.
  let llama: Llama | undefined;
  const existingLlama = (): Llama | undefined => {
    if (!llama && core.runtimeReady) void core.runtime().then((runtime) => (llama = runtime.llama), () => undefined);
    return llama;
  };
  const llamaIfReady = async (): Promise<Llama | undefined> => (core.runtimeReady ? (await core.runtime().catch(() => undefined))?.llama : undefined);

  const settings = new SettingsService(settingsStore);
  const chat = new ChatService({ inference: core.inference, catalog: core.catalog, store: conversationStore, settings, logger: core.logger });
  const conversations = new ConversationsService(conversationStore, settings, (conversationId) => chat.stopConversation(conversationId));
  const models = new ModelsService({
    modelsDir: core.modelsDir,
    engine: core.engine,
    residency: core.residency,
    library: core.library,
    hub: core.hub,
    hubToken: core.hubToken,
    catalog: core.catalog,
    llama: llamaIfReady,
  });
  const downloads = new DownloadsService(core.downloads);
  const metrics = new MetricsService({ residency: core.residency, inference: core.inference, llama: existingLlama, logger: core.logger }, options.metrics);
  const server = new ServerService(keyStore, settingsStore);
  const providers = new ProvidersService({ remoteProviders: core.remoteProviders, providers: core.providers, usage: core.usage }, options.providers);
  const engine = new EngineService({
    builder: options.engineBuilder ?? new EngineBuilder({ engineDir: core.engineDir, logger: core.logger }),
    current: () => core.engineBuild(),
  });

  let disposed: Promise<void> | undefined;
  return {
    models,
    downloads,
    chat,
    conversations,
    metrics,
    server,
    providers,
    settings,
    engine,
    jobs: new JobsService(core.batches),
    access: server.access,
    attachServer: (controller) => server.attach(controller),
    dispose() {
      disposed ??= (async () => {
        metrics.dispose();
        await chat.dispose();
        server.dispose();
        providers.dispose();
        settings.dispose();
        await engine.dispose();
        conversationStore.dispose();
        settingsStore.dispose();
        keyStore.dispose();
      })();
      return disposed;
    },
  };
}
