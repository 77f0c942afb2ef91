import { createStore, type StoreApi } from "zustand/vanilla";
import type {
  ChatPreset,
  ChatSettings,
  ResolvedChatSettings,
  ChatStreamEvent,
  Conversation,
  ConversationSummary,
  MardukApi,
  StartedChatGeneration,
  StoredMessage,
  Unsubscribe,
} from "../../../../shared/contract/index.js";
import { FrameBatcher } from "../../lib/FrameBatcher.js";
import type { FrameScheduler } from "../../lib/frameScheduler.js";
import { errorMessage } from "../../lib/errorMessage.js";

type DeltaEvent = Extract<ChatStreamEvent, { type: "delta" }>;
type DoneEvent = Extract<ChatStreamEvent, { type: "done" }>;
type ErrorEvent = Extract<ChatStreamEvent, { type: "error" }>;

/** The reply being generated, updated once per frame while it streams. */
export interface StreamingReply {
  /** Which request of this window started it; 0 for a generation started elsewhere. */
  requestId: number;
  /** Unknown until the core answers the request or the first event arrives. */
  generationId?: string;
  conversationId: string;
  /** The id the stored reply will have, once known. */
  assistantMessageId?: string;
  /** The answer so far. */
  text: string;
  /** The model's thinking so far, apart from the answer ("" when it has not thought). */
  reasoning: string;
  /** Tokens so far, thinking included. */
  tokenCount: number;
  /** Of those, the tokens of pieces that held only thinking. */
  reasoningTokenCount: number;
  /** Clock times (ms) of the request, the first text and the latest text. */
  startedAt: number;
  firstTokenAt?: number;
  lastTokenAt?: number;
  /** Stop was pressed (the core keeps what was generated). */
  stopRequested: boolean;
}

export interface ContextUsage {
  usedTokens: number;
  /** null when the conversation's model is not loaded. */
  contextSize: number | null;
}

/** What a new conversation starts with when the caller does not say. */
export interface NewConversationDefaults {
  modelId?: string;
  systemPrompt?: string;
}

export interface ChatState {
  /** Most recently updated first, as the core lists them. */
  conversations: ConversationSummary[];
  listLoaded: boolean;
  activeId: string | null;
  active: Conversation | null;
  loadingActive: boolean;
  /** The model picked while no conversation is open (used when one is created). */
  preferredModelId: string | null;
  streaming: StreamingReply | null;
  contextUsage: ContextUsage | null;
  error: string | null;
  /** The settings that apply to the open conversation (or to a new one), and where each comes from. */
  resolved: ResolvedChatSettings | null;
  presets: ChatPreset[];
  /** Bumped whenever the user sends, regenerates, retries or edits (the list sticks to the bottom again). */
  sendSerial: number;

  init(): Promise<void>;
  dispose(): void;
  /** Reads the list and the open conversation again (after a reconnect). */
  refresh(): Promise<void>;
  select(id: string | null): Promise<void>;
  create(options?: { title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings }): Promise<Conversation | null>;
  rename(id: string, title: string): Promise<void>;
  remove(id: string): Promise<void>;
  exportConversation(id: string, format: "json" | "markdown"): Promise<{ fileName: string; mimeType: string; content: string } | null>;
  setModel(modelId: string): Promise<void>;
  setSystemPrompt(systemPrompt: string): Promise<void>;
  /** Replaces the open conversation's sampling and output settings. */
  updateSettings(settings: ChatSettings): Promise<void>;
  /** Sends a user message (creating a conversation first when none is open). */
  send(content: string): Promise<boolean>;
  stopGeneration(): Promise<void>;
  regenerate(): Promise<boolean>;
  editAndResend(messageId: string, content: string): Promise<boolean>;
  refreshContextUsage(): Promise<void>;
  /** Answers the last user message again after its send failed. */
  retry(): Promise<boolean>;
  /** Deletes a message and what follows it (a failed send's message). */
  deleteMessage(messageId: string): Promise<void>;
  /** Shows another version of a message (and its branch). */
  selectVersion(messageId: string): Promise<void>;
  refreshResolved(): Promise<void>;
  /** Stores settings as the open model's defaults or the app's (under every conversation's own). */
  saveDefaults(level: "model" | "app", settings: ChatSettings, systemPrompt: string): Promise<boolean>;
  loadPresets(): Promise<void>;
  savePreset(name: string, settings: ChatSettings, systemPrompt: string): Promise<boolean>;
  /** Applies a preset to the open conversation (or starts a new one with it). */
  applyPreset(name: string): Promise<boolean>;
  deletePreset(name: string): Promise<void>;
  clearError(): void;
}

export type ChatStore = StoreApi<ChatState>;

export interface ChatStoreOptions {
  /** Streamed text is applied to the store once per frame. */
  scheduler: FrameScheduler;
  /** Clock for the live stats. Default: `Date.now`. */
  now?: () => number;
  /** Model and system prompt of new conversations. Default: none. */
  newConversationDefaults?: () => NewConversationDefaults;
}

const LOCAL_ID_PREFIX = "local:";

/** A message the UI shows before the core has stored it. */
export function isLocalMessage(message: StoredMessage): boolean {
  return message.id.startsWith(LOCAL_ID_PREFIX);
}

/** True when a stream event belongs to the reply the store is showing. */
function belongsTo(reply: StreamingReply, event: ChatStreamEvent): boolean {
  if (reply.generationId !== undefined) return reply.generationId === event.generationId;
  return reply.conversationId === event.conversationId;
}

/** A reply that has produced nothing yet. */
function emptyReply(requestId: number, conversationId: string, startedAt: number): StreamingReply {
  return { requestId, conversationId, text: "", reasoning: "", tokenCount: 0, reasoningTokenCount: 0, startedAt, stopRequested: false };
}

function summaryOf(conversation: Conversation): ConversationSummary {
  const { id, title, modelId, createdAt, updatedAt, messageCount } = conversation;
  return { id, title, ...(modelId !== undefined ? { modelId } : {}), createdAt, updatedAt, messageCount };
}

/**
 * The chat feature: conversations, the open conversation's messages, and the reply streaming
 * into it. Deltas are buffered and applied once per frame (see {@link FrameBatcher}), so a
 * fast model costs one store update per frame, not one per token.
 */
export function createChatStore(api: MardukApi, options: ChatStoreOptions): ChatStore {
  const now = options.now ?? Date.now;
  let subscriptions: Unsubscribe[] = [];
  let requestSerial = 0;
  let localSerial = 0;
  let usageSerial = 0;
  // The user's edits win over answers that were read before them, whatever order they arrive in:
  // every edit of a conversation's title/model/prompt/settings gets a serial, and a fetched
  // conversation older than the latest edit keeps the edited fields as the user set them.
  let editSerial = 0;
  const latestEdit = new Map<string, number>();
  // Bumped when a model is picked with no conversation open (it belongs to the one being created).
  let pickSerial = 0;
  let creating: Promise<Conversation | null> | null = null;

  return createStore<ChatState>()((set, get) => {
    /** Applies one frame's worth of deltas in a single update. */
    const applyDeltas = (events: DeltaEvent[]): void => {
      let reply = get().streaming;
      const start = reply;
      for (const event of events) {
        if (!reply) {
          // A generation started elsewhere (another window) in the open conversation.
          if (event.conversationId !== get().activeId) continue;
          reply = emptyReply(0, event.conversationId, now());
        }
        if (!belongsTo(reply, event)) continue;
        reply = {
          ...reply,
          generationId: event.generationId,
          text: reply.text + event.text,
          reasoning: reply.reasoning + (event.reasoning ?? ""),
          tokenCount: reply.tokenCount + event.tokenCount,
          reasoningTokenCount: reply.reasoningTokenCount + (event.reasoning && event.text === "" ? event.tokenCount : 0),
        };
      }
      if (reply && reply !== start) {
        const time = now();
        set({ streaming: { ...reply, firstTokenAt: reply.firstTokenAt ?? time, lastTokenAt: time } });
      }
    };
    const batcher = new FrameBatcher<DeltaEvent>(options.scheduler, applyDeltas);

    const setActiveMessages = (conversationId: string, update: (messages: StoredMessage[]) => StoredMessage[]): void => {
      const active = get().active;
      if (active && active.id === conversationId) set({ active: { ...active, messages: update(active.messages) } });
    };

    const onDone = (event: DoneEvent): void => {
      const reply = get().streaming;
      if (reply && belongsTo(reply, event)) set({ streaming: null });
      setActiveMessages(event.conversationId, (messages) => [...messages.filter((message) => message.id !== event.message.id), event.message]);
      if (event.conversationId === get().activeId) void get().refreshContextUsage();
    };

    const onError = (event: ErrorEvent): void => {
      const reply = get().streaming;
      if (reply && belongsTo(reply, event)) set({ streaming: null, error: event.error.message });
      else if (event.conversationId === get().activeId) set({ error: event.error.message });
      // The unanswered message is now marked failed (Retry, Delete).
      if (event.conversationId === get().activeId) void reloadActive(event.conversationId);
    };

    const onEvent = (event: ChatStreamEvent): void => {
      if (event.type === "delta") {
        batcher.push(event);
        return;
      }
      // Everything streamed before the end must be applied before it.
      batcher.flush();
      if (event.type === "done") onDone(event);
      else onError(event);
    };

    const onListChanged = (conversations: ConversationSummary[]): void => {
      set({ conversations, listLoaded: true });
      const active = get().active;
      if (!active) return;
      const summary = conversations.find((conversation) => conversation.id === active.id);
      if (!summary) {
        // Deleted elsewhere.
        set({ activeId: null, active: null, contextUsage: null, streaming: null });
        return;
      }
      if (summary.title !== active.title || summary.updatedAt !== active.updatedAt) {
        set({ active: { ...active, title: summary.title, updatedAt: summary.updatedAt } });
      }
      // Messages written by another window: read the conversation again when idle.
      const storedCount = active.messages.filter((message) => !isLocalMessage(message)).length;
      if (!get().streaming && summary.messageCount !== storedCount) void reloadActive(active.id);
    };

    /** `fetched`, with the fields the user edited after `readAt` (an edit serial) kept as they are now. */
    const withNewerEdits = (fetched: Conversation, readAt: number): Conversation => {
      const current = get().active;
      if ((latestEdit.get(fetched.id) ?? 0) <= readAt || !current || current.id !== fetched.id) return fetched;
      return { ...fetched, ...pickMeta(current) };
    };

    const reloadActive = async (id: string): Promise<void> => {
      const readAt = editSerial;
      try {
        const conversation = await api.conversations.get({ id });
        if (get().activeId === id && !get().streaming) set({ active: withNewerEdits(conversation, readAt) });
      } catch {
        // The next change or a reconnect reads it again.
      }
    };

    /** Marks a reply as started (before the request is answered), so its first events are not lost. */
    const beginReply = (conversationId: string): StreamingReply => {
      const reply = emptyReply(++requestSerial, conversationId, now());
      set({ streaming: reply, error: null, sendSerial: get().sendSerial + 1 });
      return reply;
    };

    /** Records what the core answered about a started generation. */
    const adoptStarted = (requestId: number, started: StartedChatGeneration): void => {
      const reply = get().streaming;
      if (!reply || reply.requestId !== requestId) return; // already finished
      set({ streaming: { ...reply, generationId: started.generationId, assistantMessageId: started.assistantMessageId } });
      if (reply.stopRequested) void api.chat.stop({ generationId: started.generationId }).catch(() => undefined);
    };

    /** Undoes an optimistic change after a failed request. */
    const fail = (requestId: number, conversationId: string, messagesBefore: StoredMessage[] | undefined, error: unknown): void => {
      if (get().streaming?.requestId === requestId) set({ streaming: null });
      if (messagesBefore) setActiveMessages(conversationId, () => messagesBefore);
      set({ error: errorMessage(error) });
    };

    const updateActive = async (patch: { title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings }): Promise<void> => {
      const active = get().active;
      if (!active) return;
      const before = active;
      const serial = ++editSerial;
      latestEdit.set(active.id, serial);
      const isLatest = () => latestEdit.get(before.id) === serial;
      set({ active: { ...active, ...patch } });
      try {
        const updated = await api.conversations.update({ id: active.id, ...patch });
        const current = get().active;
        // A newer edit is on its way: its answer (or its optimistic state) is the one to show.
        if (current && current.id === updated.id && isLatest()) {
          set({
            active: {
              ...current,
              title: updated.title,
              modelId: updated.modelId,
              systemPrompt: updated.systemPrompt,
              settings: updated.settings,
              updatedAt: updated.updatedAt,
            },
          });
        }
      } catch (error) {
        if (get().active?.id === before.id && isLatest()) set({ active: { ...get().active!, ...pickMeta(before) } });
        set({ error: errorMessage(error) });
      }
    };

    /** Creates a conversation and opens it; a model picked meanwhile is the one it gets. */
    const createConversation = async (request: Parameters<ChatState["create"]>[0] = {}): Promise<Conversation | null> => {
      const defaults = options.newConversationDefaults?.() ?? {};
      const modelId = request.modelId ?? get().preferredModelId ?? defaults.modelId;
      const systemPrompt = request.systemPrompt ?? defaults.systemPrompt;
      const picksBefore = pickSerial;
      // The new chat is open at once: a model picked now is for it, not for the previous one.
      set({ activeId: null, active: null, loadingActive: false, contextUsage: null });
      try {
        const conversation = await api.conversations.create({
          ...(request.title !== undefined ? { title: request.title } : {}),
          ...(modelId ? { modelId } : {}),
          ...(systemPrompt ? { systemPrompt } : {}),
          ...(request.settings ? { settings: request.settings } : {}),
        });
        const summaries = [summaryOf(conversation), ...get().conversations.filter((existing) => existing.id !== conversation.id)];
        // Another conversation was opened meanwhile: it stays open.
        if (get().activeId !== null) {
          set({ conversations: summaries });
          return conversation;
        }
        const picked = pickSerial !== picksBefore ? get().preferredModelId : null;
        set({ conversations: summaries, activeId: conversation.id, active: conversation, loadingActive: false, contextUsage: null, error: null });
        // Stored before anything is sent in it (the core generates with the stored model).
        if (picked && picked !== conversation.modelId) await updateActive({ modelId: picked });
        void get().refreshContextUsage();
        void get().refreshResolved();
        return get().active?.id === conversation.id ? get().active : conversation;
      } catch (error) {
        set({ error: errorMessage(error) });
        return null;
      }
    };

    return {
      conversations: [],
      listLoaded: false,
      activeId: null,
      active: null,
      loadingActive: false,
      preferredModelId: null,
      streaming: null,
      contextUsage: null,
      error: null,
      resolved: null,
      presets: [],
      sendSerial: 0,

      async init() {
        if (subscriptions.length === 0) {
          subscriptions = [api.chat.onEvent(onEvent), api.conversations.onChanged(onListChanged)];
        }
        await get().refresh();
        void get().loadPresets();
        void get().refreshResolved();
      },

      dispose() {
        for (const unsubscribe of subscriptions) unsubscribe();
        subscriptions = [];
        batcher.dispose();
      },

      async refresh() {
        try {
          set({ conversations: await api.conversations.list(), listLoaded: true });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
        const activeId = get().activeId;
        if (activeId) {
          // A reply that was streaming when the connection dropped was stored meanwhile.
          set({ streaming: null });
          await get().select(activeId);
        }
      },

      async select(id) {
        if (id === null) {
          set({ activeId: null, active: null, loadingActive: false, contextUsage: null });
          void get().refreshResolved();
          return;
        }
        set({ activeId: id, loadingActive: true, contextUsage: null, ...(get().active?.id === id ? {} : { active: null }) });
        const readAt = editSerial;
        try {
          const conversation = withNewerEdits(await api.conversations.get({ id }), readAt);
          if (get().activeId !== id) return;
          set({ active: conversation, loadingActive: false });
          if (conversation.modelId) set({ preferredModelId: conversation.modelId });
          void get().refreshContextUsage();
          void get().refreshResolved();
        } catch (error) {
          if (get().activeId !== id) return;
          set({ activeId: null, active: null, loadingActive: false, error: errorMessage(error) });
        }
      },

      create(request = {}) {
        const creation = createConversation(request).finally(() => {
          if (creating === creation) creating = null;
        });
        creating = creation;
        return creation;
      },

      async rename(id, title) {

        const trimmed = title.trim();
        if (!trimmed) return;
        const before = get().conversations;
        set({ conversations: before.map((conversation) => (conversation.id === id ? { ...conversation, title: trimmed } : conversation)) });
        if (get().active?.id === id) set({ active: { ...get().active!, title: trimmed } });
        try {
          await api.conversations.update({ id, title: trimmed });
        } catch (error) {
          set({ conversations: before, error: errorMessage(error) });
        }
      },

      async remove(id) {
        try {
          await api.conversations.remove({ id });
          set({ conversations: get().conversations.filter((conversation) => conversation.id !== id) });
          if (get().activeId === id) await get().select(null);
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async exportConversation(id, format) {
        try {
          return await api.conversations.export({ id, format });
        } catch (error) {
          set({ error: errorMessage(error) });
          return null;
        }
      },

      async setModel(modelId) {
        set({ preferredModelId: modelId });
        if (!get().active) {
          pickSerial++;
          void get().refreshResolved();
          return;
        }
        await updateActive({ modelId });
        void get().refreshContextUsage();
        void get().refreshResolved();
      },

      setSystemPrompt(systemPrompt) {
        return updateActive({ systemPrompt });
      },

      async updateSettings(settings) {
        await updateActive({ settings });
        void get().refreshResolved();
      },

      async send(content) {
        const text = content.trim();
        if (!text || get().streaming) return false;
        let active = get().active;
        if (!active) {
          // Enter pressed right after "+ New chat": the message goes into that new chat.
          active = await (creating ?? get().create());
          if (!active) return false;
        }
        const conversationId = active.id;
        const messagesBefore = active.messages;
        const local: StoredMessage = { id: `${LOCAL_ID_PREFIX}${++localSerial}`, role: "user", content: text, createdAt: now() };
        // An unanswered (failed) last message becomes a hidden version of the new one, as the core stores it.
        setActiveMessages(conversationId, (messages) => [...(messages.at(-1)?.role === "user" ? messages.slice(0, -1) : messages), local]);
        const reply = beginReply(conversationId);
        try {
          const started = await api.chat.send({ conversationId, content: text });
          setActiveMessages(conversationId, (messages) => messages.map((message) => (message.id === local.id ? (started.userMessage ?? message) : message)));
          adoptStarted(reply.requestId, started);
          // The stored message now counts against the context.
          if (get().activeId === conversationId) void get().refreshContextUsage();
          return true;
        } catch (error) {
          fail(reply.requestId, conversationId, messagesBefore, error);
          return false;
        }
      },

      async stopGeneration() {
        const reply = get().streaming;
        if (!reply || reply.stopRequested) return;
        set({ streaming: { ...reply, stopRequested: true } });
        // Without an id yet, adoptStarted stops it as soon as the core answers.
        if (reply.generationId === undefined) return;
        try {
          await api.chat.stop({ generationId: reply.generationId });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async regenerate() {
        const active = get().active;
        if (!active || get().streaming) return false;
        const messagesBefore = active.messages;
        const last = messagesBefore[messagesBefore.length - 1];
        if (last?.role === "assistant") setActiveMessages(active.id, (messages) => messages.slice(0, -1));
        const reply = beginReply(active.id);
        try {
          adoptStarted(reply.requestId, await api.chat.regenerate({ conversationId: active.id }));
          return true;
        } catch (error) {
          fail(reply.requestId, active.id, messagesBefore, error);
          return false;
        }
      },

      async editAndResend(messageId, content) {
        const text = content.trim();
        const active = get().active;
        if (!text || !active || get().streaming) return false;
        const messagesBefore = active.messages;
        const index = messagesBefore.findIndex((message) => message.id === messageId);
        const original = messagesBefore[index];
        if (!original || original.role !== "user") return false;
        setActiveMessages(active.id, (messages) => [...messages.slice(0, index), { ...original, content: text }]);
        const reply = beginReply(active.id);
        try {
          const started = await api.chat.editAndResend({ conversationId: active.id, messageId, content: text });
          if (started.userMessage) {
            const stored = started.userMessage;
            setActiveMessages(active.id, (messages) => messages.map((message) => (message.id === messageId ? stored : message)));
          }
          adoptStarted(reply.requestId, started);
          return true;
        } catch (error) {
          fail(reply.requestId, active.id, messagesBefore, error);
          return false;
        }
      },

      async refreshContextUsage() {
        const id = get().activeId;
        if (!id) return;
        const serial = ++usageSerial;
        try {
          const usage = await api.chat.contextUsage({ conversationId: id });
          if (serial === usageSerial && get().activeId === id) set({ contextUsage: usage });
        } catch {
          if (serial === usageSerial) set({ contextUsage: null });
        }
      },

      async retry() {
        const active = get().active;
        const last = active?.messages.at(-1);
        if (!active || !last || last.role !== "user" || get().streaming) return false;
        const messagesBefore = active.messages;
        const { status: _status, ...pending } = last;
        setActiveMessages(active.id, (messages) => [...messages.slice(0, -1), pending]);
        const reply = beginReply(active.id);
        try {
          adoptStarted(reply.requestId, await api.chat.retry({ conversationId: active.id }));
          return true;
        } catch (error) {
          fail(reply.requestId, active.id, messagesBefore, error);
          return false;
        }
      },

      async deleteMessage(messageId) {
        const active = get().active;
        if (!active) return;
        try {
          const conversation = await api.conversations.deleteMessage({ conversationId: active.id, messageId });
          if (get().activeId === conversation.id) set({ active: conversation, error: null });
          void get().refreshContextUsage();
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async selectVersion(messageId) {
        const active = get().active;
        if (!active || get().streaming) return;
        try {
          const conversation = await api.conversations.selectVersion({ conversationId: active.id, messageId });
          if (get().activeId === conversation.id) set({ active: conversation });
          void get().refreshContextUsage();
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async refreshResolved() {
        const active = get().active;
        const modelId = active ? active.modelId : (get().preferredModelId ?? options.newConversationDefaults?.().modelId);
        try {
          const resolved = await api.settings.resolveChat({ ...(modelId ? { modelId } : {}), overrides: active?.settings ?? {} });
          if (get().active?.id === active?.id) set({ resolved });
        } catch {
          // Shown without sources until the next change.
        }
      },

      async saveDefaults(level, settings, systemPrompt) {
        try {
          if (level === "app") {
            await api.settings.update({ defaultChatSettings: settings, defaultSystemPrompt: systemPrompt });
          } else {
            const modelId = get().active?.modelId ?? get().preferredModelId ?? options.newConversationDefaults?.().modelId;
            if (!modelId) throw new Error("Pick a model first: its defaults are saved under its name.");
            await api.settings.setModelDefaults({ modelId, settings, systemPrompt });
          }
          await get().refreshResolved();
          return true;
        } catch (error) {
          set({ error: errorMessage(error) });
          return false;
        }
      },

      async loadPresets() {
        try {
          set({ presets: await api.settings.listPresets() });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async savePreset(name, settings, systemPrompt) {
        try {
          set({ presets: await api.settings.savePreset({ name, settings, systemPrompt }) });
          return true;
        } catch (error) {
          set({ error: errorMessage(error) });
          return false;
        }
      },

      async applyPreset(name) {
        const preset = get().presets.find((candidate) => candidate.name === name);
        if (!preset) return false;
        if (!get().active) {
          const created = await get().create({ settings: preset.settings, ...(preset.systemPrompt !== undefined ? { systemPrompt: preset.systemPrompt } : {}) });
          return created !== null;
        }
        if (preset.systemPrompt !== undefined) await get().setSystemPrompt(preset.systemPrompt);
        await get().updateSettings(preset.settings);
        return true;
      },

      async deletePreset(name) {
        try {
          set({ presets: await api.settings.deletePreset({ name }) });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      clearError() {
        set({ error: null });
      },
    };
  });
}

function pickMeta(conversation: Conversation): Pick<Conversation, "title" | "modelId" | "systemPrompt" | "settings"> {
  return { title: conversation.title, modelId: conversation.modelId, systemPrompt: conversation.systemPrompt, settings: conversation.settings };
}
