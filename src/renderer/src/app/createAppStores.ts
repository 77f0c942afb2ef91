import type { MardukApi } from "../../../shared/contract/index.js";
import { createChatStore, type ChatStore } from "../features/chat/chatStore.js";
import { createDashboardStore, type DashboardStore } from "../features/dashboard/dashboardStore.js";
import { createDownloadsStore, type DownloadsStore } from "../features/downloads/downloadsStore.js";
import { createJobsStore, type JobsStore } from "../features/jobs/jobsStore.js";
import { createModelsStore, type ModelsStore } from "../features/models/modelsStore.js";
import { createProvidersStore, type ProvidersStore } from "../features/server/providersStore.js";
import { createEngineStore, type EngineStore } from "../features/server/engineStore.js";
import { createServerStore, type ServerStore } from "../features/server/serverStore.js";
import { createSettingsStore, type SettingsStore } from "../features/settings/settingsStore.js";
import type { FrameScheduler } from "../lib/frameScheduler.js";
import { pickDefaultModel } from "../features/models/modelChoice.js";

/** One store per feature, all over the same contract. */
export interface AppStores {
  models: ModelsStore;
  downloads: DownloadsStore;
  chat: ChatStore;
  dashboard: DashboardStore;
  server: ServerStore;
  /** Remote providers (on the Server screen). */
  providers: ProvidersStore;
  /** Which llama.cpp build runs, and building one (on the Server screen). */
  engine: EngineStore;
  /** Background jobs: the Batch API's batches (on the Server screen). */
  jobs: JobsStore;
  settings: SettingsStore;
  /** Loads every store and subscribes to the app's events. */
  init(): Promise<void>;
  /** Reads everything again (after a reconnect). */
  refresh(): Promise<void>;
  dispose(): void;
}

export interface AppStoresOptions {
  /** Batches streamed chat text and download progress per frame. */
  scheduler: FrameScheduler;
  now?: () => number;
}

export function createAppStores(api: MardukApi, options: AppStoresOptions): AppStores {
  const models = createModelsStore(api);
  const settings = createSettingsStore(api);
  const downloads = createDownloadsStore(api, { scheduler: options.scheduler });
  const chat = createChatStore(api, {
    scheduler: options.scheduler,
    ...(options.now ? { now: options.now } : {}),
    newConversationDefaults: () => {
      const appSettings = settings.getState().settings;
      const { library, loaded } = models.getState();
      const modelId = pickDefaultModel(library, loaded, appSettings?.defaultModelId);
      return { ...(modelId ? { modelId } : {}), ...(appSettings?.defaultSystemPrompt ? { systemPrompt: appSettings.defaultSystemPrompt } : {}) };
    },
  });
  const dashboard = createDashboardStore(api);
  const server = createServerStore(api);
  const providers = createProvidersStore(api);
  const engine = createEngineStore(api);
  const jobs = createJobsStore(api);
  const all = [models, settings, downloads, chat, dashboard, server, providers, engine, jobs];

  return {
    models,
    downloads,
    chat,
    dashboard,
    server,
    providers,
    engine,
    jobs,
    settings,
    async init() {
      await Promise.all(all.map((store) => store.getState().init()));
    },
    async refresh() {
      await Promise.all(all.map((store) => store.getState().refresh()));
    },
    dispose() {
      for (const store of all) store.getState().dispose();
    },
  };
}
