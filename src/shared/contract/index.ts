import type { ChatApi } from "./chat.js";
import type { ConversationsApi } from "./conversations.js";
import type { DownloadsApi } from "./downloads.js";
import type { EngineApi } from "./engine.js";
import type { JobsApi } from "./jobs.js";
import type { MetricsApi } from "./metrics.js";
import type { ModelsApi } from "./models.js";
import type { ProvidersApi } from "./providers.js";
import type { ServerApi } from "./server.js";
import type { SettingsApi } from "./settings.js";

export type * from "./chat.js";
export type * from "./common.js";
export type * from "./conversations.js";
export type * from "./downloads.js";
export type * from "./engine.js";
export type * from "./jobs.js";
export type * from "./metrics.js";
export type * from "./models.js";
export type * from "./providers.js";
export type * from "./server.js";
export type * from "./settings.js";

/**
 * The one contract between the UI and the app, whatever carries it (Electron IPC, WebSocket,
 * in-memory). Each group is an interface of methods — one request object in, a Promise out —
 * and `onX` events. Every payload is plain JSON.
 */
export interface MardukApi {
  models: ModelsApi;
  downloads: DownloadsApi;
  chat: ChatApi;
  conversations: ConversationsApi;
  metrics: MetricsApi;
  server: ServerApi;
  providers: ProvidersApi;
  settings: SettingsApi;
  /** Compiling llama.cpp for this machine, and which build runs. */
  engine: EngineApi;
  /** Background jobs (the Batch API's batches): progress and cancel. */
  jobs: JobsApi;
}

export type ContractGroup = keyof MardukApi;

/** Every group's name, for transports that must list channels (the preload bridge). */
export const CONTRACT_GROUPS: readonly ContractGroup[] = ["models", "downloads", "chat", "conversations", "metrics", "server", "providers", "settings", "engine", "jobs"];
