/**
 * The stored reply's time to first token has the chat's definition: from the send to the first
 * streamed token, so a wait before the engine starts (a queue, a model load, the model host)
 * counts, as it does in the live figure. The engine's own timing starts later and is smaller.
 * The clock (`performance.now`) is driven by hand: no timing in the assertions.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GenerationResult } from "../../src/shared/api/generation.js";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import { ChatService } from "../../src/core/contract/ChatService.js";
import type { SettingsService } from "../../src/core/contract/SettingsService.js";
import { GenerationStream } from "../../src/core/inference/GenerationStream.js";
import type { InferenceService } from "../../src/core/inference/InferenceService.js";
import type { ModelCatalog } from "../../src/core/inference/ModelCatalog.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ConversationStore } from "../../src/core/storage/ConversationStore.js";
import { waitForEventOfType } from "../helpers/events.js";

const ENGINE_FIRST_TOKEN_MS = 10;

let clock: number;
let database: AppDatabase;
let store: ConversationStore;
let chat: ChatService;
let streams: GenerationStream[];
let releaseQueue: () => void;

function result(text: string): GenerationResult {
  return { text, finishReason: "stop", usage: { promptTokens: 5, completionTokens: 2 }, timings: { promptMs: 3, firstTokenMs: ENGINE_FIRST_TOKEN_MS, decodeTokensPerSecond: 20 } };
}

beforeEach(() => {
  clock = 1_000;
  vi.spyOn(performance, "now").mockImplementation(() => clock);
  database = new AppDatabase(":memory:");
  store = new ConversationStore(database);
  streams = [];
  const inference = {
    prepare: async () => undefined,
    // The request waits in a queue before the engine takes it.
    chat: async () => {
      await new Promise<void>((resolve) => (releaseQueue = resolve));
      const stream = new GenerationStream();
      streams.push(stream);
      return { provider: "local", modelId: "m", stream };
    },
  } as unknown as InferenceService;
  const catalog = { resolve: (id: string) => id, loadedContextSize: () => undefined } as unknown as ModelCatalog;
  const settings = {
    current: () => ({ defaultModelId: undefined }),
    resolve: (_model: string, settings: unknown) => ({ settings }),
  } as unknown as SettingsService;
  chat = new ChatService({ inference, catalog, store, settings, logger: createSilentLogger() });
});

afterEach(async () => {
  await chat.dispose();
  store.dispose();
  database.dispose();
  vi.restoreAllMocks();
});

function next<T extends ChatStreamEvent["type"]>(type: T): Promise<Extract<ChatStreamEvent, { type: T }>> {
  return waitForEventOfType(chat.onEvent, type);
}

describe("the chat's time to first token", () => {
  it("runs from the send to the first streamed token, queue wait included", async () => {
    const conversation = store.create({ modelId: "m" });
    await chat.send({ conversationId: conversation.id, content: "Hi" });
    // 200 ms in the queue, then the engine takes 19 ms to its first token (it reports 10).
    await vi.waitFor(() => expect(releaseQueue).toBeTypeOf("function"));
    clock = 1_200;
    releaseQueue();
    await vi.waitFor(() => expect(streams).toHaveLength(1));
    clock = 1_219;
    const delta = next("delta");
    streams[0]!.push({ text: "Hello", tokenCount: 1 });
    await delta;
    clock = 1_500;
    const done = next("done");
    streams[0]!.push({ text: "!", tokenCount: 1 });
    streams[0]!.end(result("Hello!"));
    const { message } = await done;
    expect(message.stats?.timeToFirstTokenMs).toBe(219);
    expect(message.stats!.timeToFirstTokenMs).toBeGreaterThan(ENGINE_FIRST_TOKEN_MS);
    expect(store.get(conversation.id)!.messages.at(-1)!.stats?.timeToFirstTokenMs).toBe(219);
  });
});
