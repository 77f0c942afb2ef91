/**
 * An in-memory MardukApi for the renderer's store tests: plain data the test can read and
 * change, every call recorded, events emitted by hand, and calls that can be made to fail or
 * to wait. Chat generations do not stream by themselves: the test sends the deltas.
 */
import type { DownloadProgress, FitEstimate, HubModel, HubModelCard, HubTokenStatus, StarterModelFile, StarterModelInfo } from "../../src/shared/api/hub.js";
import type { LibraryModel, LoadedModelState } from "../../src/shared/api/library.js";
import type {
  ApiKeyInfo,
  AppSettings,
  CatalogEntry,
  ChatPreset,
  ChatSettings,
  ChatSettingSource,
  ChatStreamEvent,
  Conversation,
  ConversationSummary,
  EngineBuildProgress,
  EngineStatus,
  EventSource,
  HubRepoWithFit,
  JobSummary,
  MardukApi,
  MessageStats,
  MetricsSample,
  ModelChatDefaults,
  ProviderInfo,
  ProviderTestResult,
  SaveProviderRequest,
  ServerStatus,
  StoredMessage,
  UsageSummary,
} from "../../src/shared/contract/index.js";
import type { ErrorCode } from "../../src/shared/errorCodes.js";

/** A listener set with an `EventSource` face. */
export class Emitter<T> {
  private readonly listeners = new Set<(payload: T) => void>();
  readonly source: EventSource<T> = (listener) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  emit(payload: T): void {
    for (const listener of [...this.listeners]) listener(payload);
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** An error as the RPC client rejects with it. */
export class FakeRpcError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The offending parameter, as the core names it (e.g. "baseUrl", "price.input"). */
    readonly param?: string,
  ) {
    super(message);
  }
}

export interface FakeGeneration {
  generationId: string;
  conversationId: string;
  assistantMessageId: string;
}

export function libraryModel(id: string, extra: Partial<LibraryModel> = {}): LibraryModel {
  return {
    id,
    kind: "model",
    files: [{ path: `${id}.gguf`, sizeBytes: 1000 }],
    sizeBytes: 1000,
    modifiedAt: 1,
    architecture: "llama",
    quantization: "Q8_0",
    contextLength: 2048,
    hasChatTemplate: true,
    capabilities: ["chat", "completion"],
    status: "ok",
    ...extra,
  };
}

export function loadedModel(id: string, extra: Partial<LoadedModelState> = {}): LoadedModelState {
  return { id, state: "loaded", loadedAt: 1, lastUsedAt: 1, activeRequests: 0, keepAliveMs: 900_000, memory: { ramBytes: 100, vramBytes: 0 }, ...extra };
}

export function sample(time: number, extra: Partial<MetricsSample> = {}): MetricsSample {
  return {
    time,
    cpuPercent: 10,
    ramUsedBytes: 4e9,
    ramTotalBytes: 16e9,
    processRssBytes: 2e8,
    gpu: null,
    decodeTokensPerSecond: 0,
    promptTokensPerSecond: 0,
    timeToFirstTokenMs: null,
    activeRequests: 0,
    queuedRequests: 0,
    models: [],
    ...extra,
  };
}

export function download(id: string, extra: Partial<DownloadProgress> = {}): DownloadProgress {
  return {
    id,
    ref: `hf:owner/repo/${id}.gguf`,
    state: "downloading",
    receivedBytes: 0,
    totalBytes: 1000,
    resumedFromBytes: 0,
    bytesPerSecond: 0,
    part: 1,
    parts: 1,
    attempt: 1,
    startedAt: 1,
    ...extra,
  };
}

/** A remote provider added in the app, healthy, serving `models`. */
export function providerInfo(id: string, extra: Partial<ProviderInfo> = {}): ProviderInfo {
  return {
    id,
    baseUrl: `http://${id}.test/v1`,
    source: "app",
    editable: true,
    health: { healthy: true, circuit: "closed", consecutiveFailures: 0, outstanding: 0, models: [`${id}-model`], checkedAt: 1 },
    ...extra,
  };
}

export function catalogEntry(id: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return { id, kind: "remote", providers: ["upstream-1"], capabilities: { chat: true, embeddings: false }, ...extra };
}

export function usageSummary(extra: Partial<UsageSummary> = {}): UsageSummary {
  return { since: 0, requests: 0, localRequests: 0, localShare: 0, costUsd: 0, savedUsd: 0, savedShare: 0, rows: [], ...extra };
}

const STATS: MessageStats = { promptTokens: 5, completionTokens: 10, timeToFirstTokenMs: 12, decodeTokensPerSecond: 900, finishReason: "stop" };

/** The fake's data and controls. */
export class FakeMardukState {
  library: LibraryModel[] = [];
  loaded: LoadedModelState[] = [];
  starters: StarterModelInfo[] = [];
  hubResults: HubModel[] = [];
  hubFiles: Record<string, HubRepoWithFit> = {};
  modelCards: Record<string, HubModelCard> = {};
  starterFiles: StarterModelFile[] = [];
  hubTokenStatus: HubTokenStatus = { configured: false, source: "none", stored: false };
  /** What `models.estimateLoad` answers (it fails while unset). */
  loadEstimate: FitEstimate | undefined;
  downloads: DownloadProgress[] = [];
  conversations = new Map<string, Conversation>();
  history: MetricsSample[] = [];
  settings: AppSettings = { defaultSystemPrompt: "", theme: "system" };
  status: ServerStatus = { mode: "headless", running: true, host: "127.0.0.1", port: 11435, url: "http://127.0.0.1:11435", requiresApiKey: false, corsOrigins: [] };
  keys: ApiKeyInfo[] = [];
  catalog: CatalogEntry[] = [];
  providers: ProviderInfo[] = [];
  /** The stored API key of each provider (the fake masks it as the core does). */
  providerKeys = new Map<string, string>();
  /** What `providers.test` answers. */
  testResult: ProviderTestResult = { models: ["remote-model"], latencyMs: 12 };
  usage: UsageSummary = usageSummary();
  contextSize: number | null = 2048;
  generations: FakeGeneration[] = [];
  /** What `conversations.selectVersion` shows for a message id (default: the conversation as it is). */
  versionViews = new Map<string, StoredMessage[]>();
  modelDefaults = new Map<string, ModelChatDefaults>();
  presets: ChatPreset[] = [];
  /** What `engine.status` answers; `engine.startBuild` answers `engineBuild` (set it first). */
  engineStatus: EngineStatus = {
    current: { kind: "prebuilt", gpu: "cpu", llamaCppRelease: "v0.4.0", native: false, openmp: false, source: "runtime" },
    canBuild: true,
    toolchains: [],
    restartNeeded: false,
  };
  engineBuild: EngineBuildProgress = { id: "b1", phase: "starting", percent: 0, message: "Starting the build", gpu: "cpu", startedAt: 1 };
  jobs: JobSummary[] = [];
  /** Every call, in order: "group.method" and its request. */
  readonly calls: Array<{ method: string; request: unknown }> = [];

  readonly chatEvents = new Emitter<ChatStreamEvent>();
  readonly conversationsChanged = new Emitter<ConversationSummary[]>();
  readonly libraryChanged = new Emitter<LibraryModel[]>();
  readonly loadedChanged = new Emitter<LoadedModelState[]>();
  readonly downloadProgress = new Emitter<DownloadProgress>();
  readonly samples = new Emitter<MetricsSample>();
  readonly serverStatus = new Emitter<ServerStatus>();
  readonly settingsChanged = new Emitter<AppSettings>();
  readonly providersChanged = new Emitter<ProviderInfo[]>();
  readonly engineProgress = new Emitter<EngineBuildProgress>();
  readonly jobsChanged = new Emitter<JobSummary>();

  private readonly failures = new Map<string, unknown>();
  private readonly gates = new Map<string, Promise<void>>();
  private readonly answerGates = new Map<string, Promise<void>>();
  private serial = 0;

  /** The next call of `method` ("group.name") rejects with `error`. */
  failNext(method: string, error: unknown = new FakeRpcError("internal_error", `${method} failed`)): void {
    this.failures.set(method, error);
  }

  /** Calls of `method` wait until the returned function is called. */
  hold(method: string): () => void {
    let release!: () => void;
    this.gates.set(method, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.gates.delete(method);
      release();
    };
  }

  /**
   * The next call of `method` is answered with what was true when it was made, but only once
   * the returned function is called (a stale answer that arrives late).
   */
  holdAnswer(method: string): () => void {
    let release!: () => void;
    this.answerGates.set(method, new Promise<void>((resolve) => (release = resolve)));
    return release;
  }

  callsOf(method: string): unknown[] {
    return this.calls.filter((call) => call.method === method).map((call) => call.request);
  }

  /** Records the call, applies failures and holds, then runs it. */
  async run<T>(method: string, request: unknown, body: () => T): Promise<T> {
    this.calls.push({ method, request });
    const answerGate = this.answerGates.get(method);
    if (answerGate) {
      this.answerGates.delete(method);
      const answer = body();
      await answerGate;
      return answer;
    }
    const gate = this.gates.get(method);
    if (gate) await gate;
    else await Promise.resolve();
    if (this.failures.has(method)) {
      const error = this.failures.get(method);
      this.failures.delete(method);
      throw error;
    }
    return body();
  }

  nextId(prefix: string): string {
    return `${prefix}-${++this.serial}`;
  }

  addConversation(conversation: Partial<Conversation> & { id: string }): Conversation {
    const full: Conversation = { title: "Chat", createdAt: 1, updatedAt: 1, messageCount: 0, systemPrompt: "", settings: {}, messages: [], ...conversation };
    full.messageCount = full.messages.length;
    this.conversations.set(full.id, full);
    return full;
  }

  summaries(): ConversationSummary[] {
    return [...this.conversations.values()]
      .sort((a, b) => b.updatedAt - a.updatedAt)
      .map(({ id, title, modelId, createdAt, updatedAt, messageCount }) => ({ id, title, modelId, createdAt, updatedAt, messageCount }));
  }

  conversation(id: string): Conversation {
    const conversation = this.conversations.get(id);
    if (!conversation) throw new FakeRpcError("invalid_argument", `No conversation ${id}`);
    return conversation;
  }

  startGeneration(conversationId: string): FakeGeneration {
    const generation = { generationId: this.nextId("gen"), conversationId, assistantMessageId: this.nextId("msg") };
    this.generations.push(generation);
    return generation;
  }

  /** Streams text pieces (one token each) of a generation. */
  delta(generation: FakeGeneration, text: string, tokenCount = 1): void {
    this.chatEvents.emit({ type: "delta", generationId: generation.generationId, conversationId: generation.conversationId, text, tokenCount });
  }

  /** Streams a piece of a thinking model's thinking (no answer text). */
  thinkingDelta(generation: FakeGeneration, reasoning: string, tokenCount = 1): void {
    this.chatEvents.emit({ type: "delta", generationId: generation.generationId, conversationId: generation.conversationId, text: "", reasoning, tokenCount });
  }

  /** Stores the reply (with its thinking, if given) and emits `done`. */
  finish(generation: FakeGeneration, content: string, stats: Partial<MessageStats> = {}, reasoning?: string): StoredMessage {
    const message: StoredMessage = {
      id: generation.assistantMessageId,
      role: "assistant",
      content,
      ...(reasoning !== undefined ? { reasoning } : {}),
      createdAt: 2,
      modelId: "m",
      stats: { ...STATS, ...stats },
    };
    const conversation = this.conversations.get(generation.conversationId);
    if (conversation) {
      conversation.messages = [...conversation.messages.filter((existing) => existing.id !== message.id), message];
      conversation.messageCount = conversation.messages.length;
    }
    this.chatEvents.emit({ type: "done", generationId: generation.generationId, conversationId: generation.conversationId, message });
    return message;
  }

  /** Saves a provider as the core does: a missing key keeps the stored one, "" removes it. */
  saveProvider(request: SaveProviderRequest): ProviderInfo {
    const { apiKey, ...settings } = request;
    if (apiKey === "") this.providerKeys.delete(request.id);
    else if (apiKey !== undefined) this.providerKeys.set(request.id, apiKey);
    const key = this.providerKeys.get(request.id);
    const previous = this.providers.find((provider) => provider.id === request.id);
    const saved: ProviderInfo = {
      ...providerInfo(request.id, { health: previous?.health ?? providerInfo(request.id).health }),
      ...settings,
      ...(key ? { maskedApiKey: `${key.slice(0, 3)}…${key.slice(-4)}` } : {}),
    };
    this.providers = [...this.providers.filter((provider) => provider.id !== request.id), saved];
    return saved;
  }

  fail(generation: FakeGeneration, message: string): void {
    this.chatEvents.emit({ type: "error", generationId: generation.generationId, conversationId: generation.conversationId, error: { code: "internal_error", message } });
  }
}

/** A MardukApi over {@link FakeMardukState}. */
export function createFakeMardukApi(state = new FakeMardukState()): { api: MardukApi; fake: FakeMardukState } {
  const s = state;
  const api: MardukApi = {
    models: {
      list: () => s.run("models.list", undefined, () => s.library),
      loaded: () => s.run("models.loaded", undefined, () => s.loaded),
      load: (request) =>
        s.run("models.load", request, () => {
          const state = loadedModel(request.id);
          s.loaded = [...s.loaded.filter((model) => model.id !== request.id), state];
          return state;
        }),
      estimateLoad: (request) =>
        s.run("models.estimateLoad", request, () => {
          if (!s.loadEstimate) throw new FakeRpcError("model_not_found", `No estimate for ${request.id}`);
          return s.loadEstimate;
        }),
      unload: (request) =>
        s.run("models.unload", request, () => {
          s.loaded = s.loaded.filter((model) => model.id !== request.id);
        }),
      remove: (request) =>
        s.run("models.remove", request, () => {
          s.library = s.library.filter((model) => model.id !== request.id);
        }),
      importFile: (request) =>
        s.run("models.importFile", request, () => {
          const model = libraryModel(request.path.replace(/^.*\//, "").replace(/\.gguf$/, ""));
          s.library = [...s.library, model];
          return model;
        }),
      searchHub: (request) => s.run("models.searchHub", request, () => s.hubResults.filter((result) => result.repo.includes(request.query))),
      hubFiles: (request) =>
        s.run("models.hubFiles", request, () => {
          const files = s.hubFiles[request.repo];
          if (!files) throw new FakeRpcError("model_not_found", `No repo ${request.repo}`);
          return files;
        }),
      modelCard: (request) =>
        s.run("models.modelCard", request, () => s.modelCards[request.repo] ?? { repo: request.repo, markdown: null, truncated: false, pageUrl: `https://huggingface.co/${request.repo}` }),
      starters: () => s.run("models.starters", undefined, () => s.starters),
      starterFiles: () => s.run("models.starterFiles", undefined, () => s.starterFiles),
      hubToken: () => s.run("models.hubToken", undefined, () => ({ ...s.hubTokenStatus })),
      setHubToken: (request) =>
        s.run("models.setHubToken", request, () => {
          if (!request.token.trim()) throw new FakeRpcError("invalid_argument", "Enter a token");
          s.hubTokenStatus = { configured: true, source: s.hubTokenStatus.source === "env" ? "env" : "stored", stored: true };
          return { ...s.hubTokenStatus };
        }),
      clearHubToken: () =>
        s.run("models.clearHubToken", undefined, () => {
          s.hubTokenStatus = s.hubTokenStatus.source === "env" ? { ...s.hubTokenStatus, stored: false } : { configured: false, source: "none", stored: false };
          return { ...s.hubTokenStatus };
        }),
      catalog: () => s.run("models.catalog", undefined, () => s.catalog),
      onLibraryChanged: s.libraryChanged.source,
      onLoadedChanged: s.loadedChanged.source,
    },
    downloads: {
      start: (request) =>
        s.run("downloads.start", request, () => {
          const progress = download(s.nextId("dl"), { ref: request.ref, state: "queued", startedAt: Date.now() });
          s.downloads.push(progress);
          return progress;
        }),
      cancel: (request) => s.run("downloads.cancel", request, () => undefined),
      list: () => s.run("downloads.list", undefined, () => s.downloads),
      onProgress: s.downloadProgress.source,
    },
    chat: {
      send: (request) =>
        s.run("chat.send", request, () => {
          const conversation = s.conversation(request.conversationId);
          const userMessage: StoredMessage = { id: s.nextId("msg"), role: "user", content: request.content, createdAt: 2 };
          conversation.messages = [...conversation.messages, userMessage];
          conversation.messageCount = conversation.messages.length;
          return { ...s.startGeneration(request.conversationId), userMessage };
        }),
      regenerate: (request) =>
        s.run("chat.regenerate", request, () => {
          const conversation = s.conversation(request.conversationId);
          if (conversation.messages.at(-1)?.role === "assistant") conversation.messages = conversation.messages.slice(0, -1);
          return s.startGeneration(request.conversationId);
        }),
      retry: (request) =>
        s.run("chat.retry", request, () => {
          const conversation = s.conversation(request.conversationId);
          conversation.messages = conversation.messages.map((message, index, all) => {
            if (index !== all.length - 1) return message;
            const { status: _status, ...rest } = message;
            return rest;
          });
          return s.startGeneration(request.conversationId);
        }),
      editAndResend: (request) =>
        s.run("chat.editAndResend", request, () => {
          const conversation = s.conversation(request.conversationId);
          const index = conversation.messages.findIndex((message) => message.id === request.messageId);
          const userMessage: StoredMessage = { ...conversation.messages[index]!, content: request.content };
          conversation.messages = [...conversation.messages.slice(0, index), userMessage];
          return { ...s.startGeneration(request.conversationId), userMessage };
        }),
      stop: (request) => s.run("chat.stop", request, () => undefined),
      contextUsage: (request) =>
        s.run("chat.contextUsage", request, () => ({ usedTokens: s.conversation(request.conversationId).messages.length * 10, contextSize: s.contextSize })),
      onEvent: s.chatEvents.source,
    },
    conversations: {
      list: () => s.run("conversations.list", undefined, () => s.summaries()),
      get: (request) => s.run("conversations.get", request, () => structuredClone(s.conversation(request.id))),
      create: (request) =>
        s.run("conversations.create", request, () =>
          structuredClone(
            s.addConversation({
              id: s.nextId("conv"),
              title: request.title ?? "New chat",
              modelId: request.modelId,
              systemPrompt: request.systemPrompt ?? "",
              settings: request.settings ?? {},
              updatedAt: Date.now(),
            }),
          ),
        ),
      update: (request) =>
        s.run("conversations.update", request, () => {
          const conversation = s.conversation(request.id);
          const { id: _id, ...patch } = request;
          Object.assign(conversation, patch, { updatedAt: conversation.updatedAt + 1 });
          return structuredClone(conversation);
        }),
      remove: (request) =>
        s.run("conversations.remove", request, () => {
          s.conversations.delete(request.id);
        }),
      selectVersion: (request) =>
        s.run("conversations.selectVersion", request, () => {
          const conversation = s.conversation(request.conversationId);
          const view = s.versionViews.get(request.messageId);
          if (view) conversation.messages = view;
          conversation.messageCount = conversation.messages.length;
          return structuredClone(conversation);
        }),
      deleteMessage: (request) =>
        s.run("conversations.deleteMessage", request, () => {
          const conversation = s.conversation(request.conversationId);
          const index = conversation.messages.findIndex((message) => message.id === request.messageId);
          if (index >= 0) conversation.messages = conversation.messages.slice(0, index);
          conversation.messageCount = conversation.messages.length;
          return structuredClone(conversation);
        }),
      export: (request) =>
        s.run("conversations.export", request, () => ({
          fileName: `${request.id}.${request.format === "json" ? "json" : "md"}`,
          mimeType: request.format === "json" ? "application/json" : "text/markdown",
          content: JSON.stringify(s.conversation(request.id)),
        })),
      onChanged: s.conversationsChanged.source,
    },
    metrics: {
      history: () => s.run("metrics.history", undefined, () => s.history),
      onSample: s.samples.source,
    },
    server: {
      status: () => s.run("server.status", undefined, () => s.status),
      start: (request) => s.run("server.start", request, () => (s.status = { ...s.status, running: true })),
      stop: () => s.run("server.stop", undefined, () => (s.status = { ...s.status, running: false })),
      listKeys: () => s.run("server.listKeys", undefined, () => s.keys),
      createKey: (request) =>
        s.run("server.createKey", request, () => {
          const info: ApiKeyInfo = { id: s.nextId("key"), name: request.name, createdAt: 1, prefix: "mk-abcd…", scope: request.scope ?? "inference", localOnly: request.localOnly ?? false };
          s.keys = [...s.keys, info];
          return { key: "mk-abcdef0123456789", info };
        }),
      revokeKey: (request) =>
        s.run("server.revokeKey", request, () => {
          s.keys = s.keys.filter((key) => key.id !== request.id);
        }),
      setCorsOrigins: (request) => s.run("server.setCorsOrigins", request, () => (s.status = { ...s.status, corsOrigins: request.origins })),
      onStatus: s.serverStatus.source,
    },
    providers: {
      list: () => s.run("providers.list", undefined, () => s.providers),
      save: (request) => s.run("providers.save", request, () => s.saveProvider(request)),
      remove: (request) =>
        s.run("providers.remove", request, () => {
          s.providers = s.providers.filter((provider) => provider.id !== request.id);
          s.providerKeys.delete(request.id);
        }),
      test: (request) => s.run("providers.test", request, () => s.testResult),
      usage: (request) => s.run("providers.usage", request, () => s.usage),
      onChanged: s.providersChanged.source,
    },
    settings: {
      get: () => s.run("settings.get", undefined, () => s.settings),
      update: (request) => s.run("settings.update", request, () => (s.settings = { ...s.settings, ...request })),
      modelDefaults: (request) => s.run("settings.modelDefaults", request, () => s.modelDefaults.get(request.modelId) ?? { settings: {} }),
      setModelDefaults: (request) =>
        s.run("settings.setModelDefaults", request, () => {
          const defaults = { settings: request.settings, ...(request.systemPrompt !== undefined ? { systemPrompt: request.systemPrompt } : {}) };
          s.modelDefaults.set(request.modelId, defaults);
          return defaults;
        }),
      resolveChat: (request) =>
        s.run("settings.resolveChat", request, () => {
          // The core's order (conversation > model > app > built in), simplified for the fake.
          const layers: Array<[ChatSettingSource, ChatSettings]> = [
            ["builtIn", { contextOverflow: "truncateMiddle" }],
            ["app", s.settings.defaultChatSettings ?? {}],
            ["model", (request.modelId ? s.modelDefaults.get(request.modelId)?.settings : undefined) ?? {}],
            ["conversation", request.overrides ?? {}],
          ];
          const settings: Record<string, unknown> = {};
          const sources: Record<string, ChatSettingSource> = {};
          for (const [source, layer] of layers) {
            for (const [key, value] of Object.entries(layer)) {
              if (value === undefined) continue;
              settings[key] = value;
              sources[key] = source;
            }
          }
          const modelPrompt = request.modelId ? s.modelDefaults.get(request.modelId)?.systemPrompt : undefined;
          return { settings: settings as ChatSettings, sources, defaultSystemPrompt: modelPrompt ?? s.settings.defaultSystemPrompt };
        }),
      listPresets: () => s.run("settings.listPresets", undefined, () => s.presets),
      savePreset: (request) => s.run("settings.savePreset", request, () => (s.presets = [...s.presets.filter((preset) => preset.name !== request.name), request])),
      deletePreset: (request) => s.run("settings.deletePreset", request, () => (s.presets = s.presets.filter((preset) => preset.name !== request.name))),
      onChanged: s.settingsChanged.source,
    },
    engine: {
      status: () => s.run("engine.status", undefined, () => s.engineStatus),
      startBuild: (request) => s.run("engine.startBuild", request, () => s.engineBuild),
      cancelBuild: () => s.run("engine.cancelBuild", undefined, () => undefined),
      onProgress: s.engineProgress.source,
    },
    jobs: {
      list: () => s.run("jobs.list", undefined, () => s.jobs),
      cancel: (request) =>
        s.run("jobs.cancel", request, () => {
          const job = { ...s.jobs.find((candidate) => candidate.id === request.id)!, status: "cancelling" as const };
          s.jobs = s.jobs.map((candidate) => (candidate.id === job.id ? job : candidate));
          return job;
        }),
      onChanged: s.jobsChanged.source,
    },
  };
  return { api, fake: s };
}

/** A frame scheduler the test drives: `frame()` runs what is waiting, like one animation frame. */
export function createManualScheduler(): { scheduler: (callback: () => void) => () => void; frame(): number; readonly waiting: number } {
  let queue: Array<{ callback: () => void; cancelled: boolean }> = [];
  return {
    scheduler(callback) {
      const entry = { callback, cancelled: false };
      queue.push(entry);
      return () => {
        entry.cancelled = true;
      };
    },
    frame() {
      const due = queue.filter((entry) => !entry.cancelled);
      queue = [];
      for (const entry of due) entry.callback();
      return due.length;
    },
    get waiting() {
      return queue.filter((entry) => !entry.cancelled).length;
    },
  };
}

/** Lets pending promise callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}
