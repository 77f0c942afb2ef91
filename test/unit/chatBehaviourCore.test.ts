/**
 * Chat behaviour in the core (no model, an in-memory database, scripted generations): the
 * context overflow policies, message versions (regenerate, edit, switching), failed sends with
 * Retry, defaults at three levels and presets.
 */
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChatMessage, GenerationResult } from "../../src/shared/api/generation.js";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import { ChatService } from "../../src/core/contract/ChatService.js";
import { ConversationsService } from "../../src/core/contract/ConversationsService.js";
import { fitToContext } from "../../src/core/contract/fitToContext.js";
import { SettingsService } from "../../src/core/contract/SettingsService.js";
import { AbortedError, ModelLoadFailedError } from "../../src/core/errors.js";
import { GenerationStream } from "../../src/core/inference/GenerationStream.js";
import type { InferenceService } from "../../src/core/inference/InferenceService.js";
import type { ModelCatalog } from "../../src/core/inference/ModelCatalog.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ConversationStore } from "../../src/core/storage/ConversationStore.js";
import { MIGRATIONS } from "../../src/core/storage/migrations.js";
import { SettingsStore } from "../../src/core/storage/SettingsStore.js";
import { waitForEventOfType } from "../helpers/events.js";

const MODEL = "fixture";

/** A token count the tests can reason about: each message costs its content's length + 2 (the template). */
const countByLength = async (messages: readonly ChatMessage[]): Promise<number> => messages.reduce((sum, message) => sum + message.content.length + 2, 0);

const m = (role: ChatMessage["role"], content: string): ChatMessage => ({ role, content });
// Ten characters each: 12 tokens per message with countByLength.
const HISTORY: ChatMessage[] = [
  m("system", "sys-prompt"),
  m("user", "user-one-1"),
  m("assistant", "reply-one1"),
  m("user", "user-two-2"),
  m("assistant", "reply-two2"),
  m("user", "user-thre3"),
  m("assistant", "reply-thr3"),
  m("user", "user-four4"),
];

describe("fitToContext", () => {
  it("truncate middle keeps the system prompt, the first exchange and the latest messages", async () => {
    // 8 messages = 96 tokens; room for 60 + a 10-token reserve in 70: 5 messages (60).
    const fitted = await fitToContext(HISTORY, { policy: "truncateMiddle", contextSize: 70, replyReserve: 10, count: countByLength });
    expect(fitted.messages.map((message) => message.content)).toEqual(["sys-prompt", "user-one-1", "reply-one1", "reply-thr3", "user-four4"]);
    expect(fitted).toMatchObject({ dropped: 3, promptTokens: 60, maxTokens: 10 });
  });

  it("rolling window keeps the system prompt and the newest messages", async () => {
    const fitted = await fitToContext(HISTORY, { policy: "rollingWindow", contextSize: 70, replyReserve: 10, count: countByLength });
    expect(fitted.messages.map((message) => message.content)).toEqual(["sys-prompt", "reply-two2", "user-thre3", "reply-thr3", "user-four4"]);
    expect(fitted).toMatchObject({ dropped: 3, promptTokens: 60 });
  });

  it("stop at limit sends everything and gives the reply only what is left", async () => {
    const fitted = await fitToContext(HISTORY, { policy: "stopAtLimit", contextSize: 100, count: countByLength });
    expect(fitted.messages).toHaveLength(8);
    expect(fitted.maxTokens).toBe(4);
    // A max tokens past the end is capped too.
    expect((await fitToContext(HISTORY, { policy: "stopAtLimit", contextSize: 100, maxTokens: 500, count: countByLength })).maxTokens).toBe(4);
    await expect(fitToContext(HISTORY, { policy: "stopAtLimit", contextSize: 90, count: countByLength })).rejects.toMatchObject({ code: "context_length_exceeded" });
  });

  it("never drops the message being answered, and says so when even it does not fit", async () => {
    await expect(fitToContext([m("user", "x".repeat(200))], { policy: "rollingWindow", contextSize: 100, count: countByLength })).rejects.toMatchObject({
      code: "context_length_exceeded",
    });
    const fits = await fitToContext(HISTORY, { policy: "truncateMiddle", contextSize: 1000, count: countByLength });
    expect(fits).toMatchObject({ dropped: 0, promptTokens: 96, maxTokens: 904 });
  });
});

interface ScriptedGeneration {
  messages: readonly ChatMessage[];
  options: { maxTokens?: number; temperature?: number };
  stream: GenerationStream;
}

function result(text: string): GenerationResult {
  return { text, finishReason: "stop", usage: { promptTokens: 7, completionTokens: 2 }, timings: { promptMs: 1, firstTokenMs: 2, decodeTokensPerSecond: 30 } };
}

let database: AppDatabase;
let store: ConversationStore;
let settingsStore: SettingsStore;
let settings: SettingsService;
let chat: ChatService;
let conversations: ConversationsService;
let generations: ScriptedGeneration[];
let contextSize: number | undefined;
let failNextChat: unknown;

beforeEach(() => {
  database = new AppDatabase(":memory:");
  store = new ConversationStore(database);
  settingsStore = new SettingsStore(database);
  settings = new SettingsService(settingsStore);
  generations = [];
  contextSize = undefined;
  failNextChat = undefined;
  const inference = {
    chat: async (_model: string, messages: readonly ChatMessage[], options: ScriptedGeneration["options"] & { signal?: AbortSignal } = {}) => {
      if (failNextChat) {
        const error = failNextChat;
        failNextChat = undefined;
        throw error;
      }
      const stream = new GenerationStream();
      options.signal?.addEventListener("abort", () => stream.fail(new AbortedError()), { once: true });
      generations.push({ messages, options, stream });
      return { provider: "local", modelId: MODEL, stream };
    },
    prepare: async () => ({ provider: "local", modelId: MODEL }),
    countChatTokens: async (_model: string, messages: readonly ChatMessage[]) => ({ tokens: await countByLength(messages), exact: true, provider: "local", modelId: MODEL }),
  } as unknown as InferenceService;
  const catalog = {
    resolve: (id: string) => id,
    localContextUsage: async () => undefined,
    loadedContextSize: () => contextSize,
  } as unknown as ModelCatalog;
  chat = new ChatService({ inference, catalog, store, settings, logger: createSilentLogger() });
  conversations = new ConversationsService(store, settings, (id) => chat.stopConversation(id));
});

afterEach(async () => {
  await chat.dispose();
  store.dispose();
  settings.dispose();
  settingsStore.dispose();
  database.dispose();
});

function next<T extends ChatStreamEvent["type"]>(type: T): Promise<Extract<ChatStreamEvent, { type: T }>> {
  return waitForEventOfType(chat.onEvent, type);
}

async function generation(count: number): Promise<ScriptedGeneration> {
  await expect.poll(() => generations.length).toBe(count);
  return generations[count - 1]!;
}

/** Lets generation `count` answer `text` and waits until the reply is stored and the conversation free. */
async function answer(count: number, text: string, generationId: string): Promise<void> {
  const scripted = await generation(count);
  const done = next("done");
  scripted.stream.end(result(text));
  await done;
  await chat.stop({ generationId });
}

const contents = (conversationId: string): string[] => store.get(conversationId)!.messages.map((message) => message.content);

describe("message versions", () => {
  it("regenerate adds a version (2/2); switching back shows the old reply; later sends continue from the shown branch", async () => {
    const conversation = store.create({ modelId: MODEL });
    await answer(1, "First reply", (await chat.send({ conversationId: conversation.id, content: "Hi" })).generationId);
    await answer(2, "Second reply", (await chat.regenerate({ conversationId: conversation.id })).generationId);
    // The regenerated reply was asked with the history up to the user message only.
    expect((await generation(2)).messages).toEqual([{ role: "user", content: "Hi" }]);

    let shown = store.get(conversation.id)!;
    expect(shown.messages.map((message) => message.content)).toEqual(["Hi", "Second reply"]);
    const versions = shown.messages[1]!.versionIds!;
    expect(versions).toHaveLength(2);
    expect(versions.indexOf(shown.messages[1]!.id)).toBe(1); // 2/2
    expect(shown.messageCount).toBe(2);

    shown = await conversations.selectVersion({ conversationId: conversation.id, messageId: versions[0]! });
    expect(shown.messages.map((message) => message.content)).toEqual(["Hi", "First reply"]); // 1/2
    expect(shown.messages[1]!.versionIds!.indexOf(shown.messages[1]!.id)).toBe(0);

    await answer(3, "Third", (await chat.send({ conversationId: conversation.id, content: "More" })).generationId);
    expect((await generation(3)).messages.map((message) => message.content)).toEqual(["Hi", "First reply", "More"]);
    expect(contents(conversation.id)).toEqual(["Hi", "First reply", "More", "Third"]);
    // Back to version 2: its branch has no follow-up.
    await conversations.selectVersion({ conversationId: conversation.id, messageId: versions[1]! });
    expect(contents(conversation.id)).toEqual(["Hi", "Second reply"]);
  });

  it("editing a user message makes a branch with its own reply; the old branch stays a version", async () => {
    const conversation = store.create({ modelId: MODEL });
    await answer(1, "Paris", (await chat.send({ conversationId: conversation.id, content: "Capital of France?" })).generationId);
    const original = store.get(conversation.id)!.messages[0]!;
    const edited = await chat.editAndResend({ conversationId: conversation.id, messageId: original.id, content: "Capital of Italy?" });
    expect(edited.userMessage).toMatchObject({ content: "Capital of Italy?", versionIds: [original.id, edited.userMessage!.id] });
    await answer(2, "Rome", edited.generationId);
    expect((await generation(2)).messages).toEqual([{ role: "user", content: "Capital of Italy?" }]);
    expect(contents(conversation.id)).toEqual(["Capital of Italy?", "Rome"]);
    await conversations.selectVersion({ conversationId: conversation.id, messageId: original.id });
    expect(contents(conversation.id)).toEqual(["Capital of France?", "Paris"]);
  });

  it("migration 8 turns existing linear conversations into a branch with the same order", () => {
    const raw = new Database(":memory:");
    for (const [index, sql] of MIGRATIONS.slice(0, 7).entries()) {
      raw.exec(sql);
      raw.pragma(`user_version = ${index + 1}`);
    }
    raw.prepare("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c', 'Old', 1, 1)").run();
    const insert = raw.prepare("INSERT INTO messages (id, conversation_id, position, role, content, created_at) VALUES (?, 'c', ?, ?, ?, ?)");
    insert.run("m1", 0, "user", "one", 1);
    insert.run("m2", 1, "assistant", "two", 2);
    insert.run("m3", 2, "user", "three", 3);
    raw.exec(MIGRATIONS[7]!);
    const rows = raw.prepare("SELECT id, parent_id, position FROM messages ORDER BY position").all();
    expect(rows).toEqual([
      { id: "m1", parent_id: null, position: 0 },
      { id: "m2", parent_id: "m1", position: 1 },
      { id: "m3", parent_id: "m2", position: 2 },
    ]);
    expect(raw.prepare("SELECT current_leaf_id FROM conversations").get()).toEqual({ current_leaf_id: "m3" });
    raw.close();
  });
});

describe("failed sends", () => {
  it("keep the user message, marked failed; Retry answers it without storing it twice", async () => {
    const conversation = store.create({ modelId: MODEL });
    failNextChat = new ModelLoadFailedError(MODEL, "unloaded");
    const failed = next("error");
    await chat.send({ conversationId: conversation.id, content: "Hello?" });
    await failed;
    await expect.poll(() => store.get(conversation.id)!.messages.at(-1)?.status).toBe("failed");
    expect(contents(conversation.id)).toEqual(["Hello?"]);

    const retried = await chat.retry({ conversationId: conversation.id });
    await answer(1, "Hi!", retried.generationId);
    const messages = store.get(conversation.id)!.messages;
    expect(messages.map((message) => [message.role, message.content, message.status])).toEqual([
      ["user", "Hello?", undefined],
      ["assistant", "Hi!", undefined],
    ]);
  });

  it("a new send after a failed one replaces it (no orphan); Delete removes a failed message", async () => {
    const conversation = store.create({ modelId: MODEL });
    failNextChat = new ModelLoadFailedError(MODEL, "unloaded");
    const failed = next("error");
    await chat.send({ conversationId: conversation.id, content: "Lost" });
    await failed;
    await expect.poll(() => store.get(conversation.id)!.messages.at(-1)?.status).toBe("failed");
    const lost = store.get(conversation.id)!.messages[0]!;
    await answer(1, "Answer", (await chat.send({ conversationId: conversation.id, content: "Again" })).generationId);
    expect(contents(conversation.id)).toEqual(["Again", "Answer"]);
    expect((await generation(1)).messages).toEqual([{ role: "user", content: "Again" }]);

    const shown = await conversations.deleteMessage({ conversationId: conversation.id, messageId: lost.id });
    expect(shown.messages.map((message) => message.content)).toEqual(["Again", "Answer"]);
    expect(shown.messages[0]!.versionIds).toBeUndefined();
  });
});

describe("context overflow in the chat group", () => {
  it("fits the history by the conversation's policy and caps max tokens at what is left", async () => {
    const conversation = store.create({ modelId: MODEL, settings: { contextOverflow: "rollingWindow", maxTokens: 20 } });
    await answer(1, "r".repeat(28), (await chat.send({ conversationId: conversation.id, content: "u".repeat(28) })).generationId);
    contextSize = 79; // the two stored messages (30 + 30) + the new one (30) + 20 do not fit, nor 30 + 30 + 20
    await answer(2, "ok", (await chat.send({ conversationId: conversation.id, content: "v".repeat(28) })).generationId);
    const second = await generation(2);
    expect(second.messages.map((message) => message.content)).toEqual(["v".repeat(28)]);
    expect(second.options.maxTokens).toBe(20);

    await conversations.update({ id: conversation.id, settings: { contextOverflow: "stopAtLimit" } });
    contextSize = 200;
    await answer(3, "x", (await chat.send({ conversationId: conversation.id, content: "w" })).generationId);
    const third = await generation(3);
    expect(third.messages).toHaveLength(5);
    // Max tokens "auto" is what is left of the context, never more.
    expect(third.options.maxTokens).toBe(200 - (30 + 30 + 30 + 4 + 3));
  });
});

describe("defaults and presets", () => {
  it("resolve conversation > model > app > built in, with the source of each value", async () => {
    await settings.update({ defaultChatSettings: { temperature: 0.3, topK: 10 }, defaultSystemPrompt: "App prompt" });
    await settings.setModelDefaults({ modelId: MODEL, settings: { temperature: 0.5 }, systemPrompt: "Model prompt" });
    const resolved = await settings.resolveChat({ modelId: MODEL, overrides: { topP: 0.9 } });
    expect(resolved.settings).toEqual({ contextOverflow: "truncateMiddle", temperature: 0.5, topK: 10, topP: 0.9 });
    expect(resolved.sources).toEqual({ contextOverflow: "builtIn", temperature: "model", topK: "app", topP: "conversation" });
    expect(resolved.defaultSystemPrompt).toBe("Model prompt");
    expect((await settings.resolveChat({})).sources.temperature).toBe("app");

    // A new conversation starts with the resolved system prompt, and generates with the resolved settings.
    const created = await conversations.create({ modelId: MODEL });
    expect(created.systemPrompt).toBe("Model prompt");
    await answer(1, "ok", (await chat.send({ conversationId: created.id, content: "hi" })).generationId);
    expect((await generation(1)).options.temperature).toBe(0.5);
    await expect(settings.resolveChat({ overrides: { temperature: 9 } })).rejects.toMatchObject({ code: "invalid_argument", param: "overrides.temperature" });
  });

  it("saves, lists, replaces and deletes named presets", async () => {
    await settings.savePreset({ name: "Precise", settings: { temperature: 0.1 } });
    await settings.savePreset({ name: "Creative", settings: { temperature: 1.2 }, systemPrompt: "Be bold" });
    expect((await settings.savePreset({ name: "Precise", settings: { temperature: 0.2 } })).map((preset) => [preset.name, preset.settings.temperature])).toEqual([
      ["Creative", 1.2],
      ["Precise", 0.2],
    ]);
    expect(await settings.deletePreset({ name: "Creative" })).toEqual([{ name: "Precise", settings: { temperature: 0.2 } }]);
    await expect(settings.savePreset({ name: "  ", settings: {} })).rejects.toMatchObject({ code: "invalid_argument" });
  });
});
