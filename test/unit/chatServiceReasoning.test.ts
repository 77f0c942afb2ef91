/**
 * The chat group with a thinking model (a scripted generation, no model): thinking streams in
 * `delta` events apart from the answer, is stored with the reply (and survives a stop), goes
 * into the exports, and is never sent back to the model in the next turn.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChatMessage, GenerationResult } from "../../src/shared/api/generation.js";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import { ChatService } from "../../src/core/contract/ChatService.js";
import { ConversationsService, conversationToMarkdown } from "../../src/core/contract/ConversationsService.js";
import type { SettingsService } from "../../src/core/contract/SettingsService.js";
import { AbortedError } from "../../src/core/errors.js";
import { GenerationStream } from "../../src/core/inference/GenerationStream.js";
import type { InferenceService } from "../../src/core/inference/InferenceService.js";
import type { ModelCatalog } from "../../src/core/inference/ModelCatalog.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ConversationStore } from "../../src/core/storage/ConversationStore.js";
import { MIGRATIONS } from "../../src/core/storage/migrations.js";
import { waitForEventOfType } from "../helpers/events.js";

const MODEL = "thinker";

/** A generation the test drives by hand. */
interface ScriptedGeneration {
  messages: readonly ChatMessage[];
  stream: GenerationStream;
}

function result(text: string, reasoning: string | undefined, reasoningTokens: number): GenerationResult {
  return {
    text,
    ...(reasoning !== undefined ? { reasoning } : {}),
    finishReason: "stop",
    usage: { promptTokens: 7, completionTokens: reasoningTokens + 2, ...(reasoningTokens > 0 ? { reasoningTokens } : {}) },
    timings: { promptMs: 1, firstTokenMs: 2, decodeTokensPerSecond: 30 },
  };
}

let database: AppDatabase;
let store: ConversationStore;
let chat: ChatService;
let generations: ScriptedGeneration[];
let events: ChatStreamEvent[];

beforeEach(() => {
  database = new AppDatabase(":memory:");
  store = new ConversationStore(database);
  generations = [];
  events = [];
  const inference = {
    chat: async (_model: string, messages: readonly ChatMessage[], options: { signal?: AbortSignal } = {}) => {
      const stream = new GenerationStream();
      options.signal?.addEventListener("abort", () => stream.fail(new AbortedError()), { once: true });
      generations.push({ messages, stream });
      return { provider: "local", modelId: MODEL, stream };
    },
    prepare: async () => ({ provider: "local", modelId: MODEL }),
  } as unknown as InferenceService;
  const catalog = {
    resolve: (id: string) => id,
    localContextUsage: async () => undefined,
    loadedContextSize: () => undefined,
  } as unknown as ModelCatalog;
  const settings = {
    current: () => ({ defaultModelId: undefined }),
    resolve: (_modelId: string | undefined, overrides = {}) => ({ settings: overrides, sources: {}, defaultSystemPrompt: "" }),
  } as unknown as SettingsService;
  chat = new ChatService({ inference, catalog, store, settings, logger: createSilentLogger() });
  chat.onEvent((event) => events.push(event));
});

afterEach(async () => {
  await chat.dispose();
  store.dispose();
  database.dispose();
});

/** Resolves with the next event of `type`. */
function next<T extends ChatStreamEvent["type"]>(type: T): Promise<Extract<ChatStreamEvent, { type: T }>> {
  return waitForEventOfType(chat.onEvent, type);
}

/** Waits until the service has asked for generation number `count`. */
async function generation(count: number): Promise<ScriptedGeneration> {
  await expect.poll(() => generations.length).toBe(count);
  return generations[count - 1]!;
}

describe("ChatService with a thinking model", () => {
  it("streams thinking apart from the answer, stores both, and sends only the answer back", async () => {
    const conversation = store.create({ modelId: MODEL });
    const started = await chat.send({ conversationId: conversation.id, content: "Why is the sky blue?" });
    const first = await generation(1);
    const done = next("done");
    first.stream.push({ text: "", reasoning: "Rayleigh ", tokenCount: 1 });
    first.stream.push({ text: "", reasoning: "scattering.", tokenCount: 2 });
    first.stream.push({ text: "Scattering.", tokenCount: 2 });
    first.stream.end(result("Scattering.", "Rayleigh scattering.", 3));
    const { message } = await done;
    // Resolves once the finished generation has let go of the conversation.
    await chat.stop({ generationId: started.generationId });

    const deltas = events.filter((event) => event.type === "delta");
    expect(deltas.map((event) => [event.text, event.reasoning])).toEqual([
      ["", "Rayleigh "],
      ["", "scattering."],
      ["Scattering.", undefined],
    ]);
    // An answer-only delta carries no reasoning field at all.
    expect("reasoning" in deltas[2]!).toBe(false);
    expect(message).toMatchObject({ role: "assistant", content: "Scattering.", reasoning: "Rayleigh scattering.", stats: { reasoningTokens: 3, completionTokens: 5 } });
    // Persisted: a fresh read has it.
    expect(store.get(conversation.id)!.messages.at(-1)).toEqual(message);

    await chat.send({ conversationId: conversation.id, content: "And at sunset?" });
    const second = await generation(2);
    expect(second.messages).toEqual([
      { role: "user", content: "Why is the sky blue?" },
      { role: "assistant", content: "Scattering." },
      { role: "user", content: "And at sunset?" },
    ]);
    const secondDone = next("done");
    second.stream.push({ text: "Red.", tokenCount: 1 });
    second.stream.end(result("Red.", undefined, 0));
    const plain = (await secondDone).message;
    // A reply without thinking has no reasoning field (nor a reasoningTokens stat).
    expect(plain.reasoning).toBeUndefined();
    expect(plain.stats?.reasoningTokens).toBeUndefined();
    expect(store.get(conversation.id)!.messages.at(-1)!.reasoning).toBeUndefined();
  });

  it("keeps the thinking of a reply stopped before it answered", async () => {
    const conversation = store.create({ modelId: MODEL });
    const started = await chat.send({ conversationId: conversation.id, content: "Think hard" });
    const first = await generation(1);
    const delta = next("delta");
    first.stream.push({ text: "", reasoning: "Step one…", tokenCount: 3 });
    await delta;
    const done = next("done");
    await chat.stop({ generationId: started.generationId });
    const { message } = await done;
    expect(message).toMatchObject({ content: "", reasoning: "Step one…", stats: { finishReason: "abort" } });
    expect(store.get(conversation.id)!.messages.at(-1)!.reasoning).toBe("Step one…");
  });

  it("exports the thinking: in full as JSON, collapsed above the answer in Markdown", async () => {
    const conversation = store.create({ title: "Sky", modelId: MODEL });
    store.appendMessage(conversation.id, { role: "user", content: "Why?" });
    store.appendMessage(conversation.id, {
      role: "assistant",
      content: "Scattering.",
      reasoning: "Short waves scatter </details> more.",
      modelId: MODEL,
      stats: { promptTokens: 3, completionTokens: 9, reasoningTokens: 7, timeToFirstTokenMs: 5, decodeTokensPerSecond: 40, finishReason: "stop" },
    });
    const conversations = new ConversationsService(store, {} as SettingsService, async () => undefined);
    const json = await conversations.export({ id: conversation.id, format: "json" });
    expect((JSON.parse(json.content) as { conversation: { messages: Array<{ reasoning?: string }> } }).conversation.messages[1]!.reasoning).toBe(
      "Short waves scatter </details> more.",
    );

    const markdown = conversationToMarkdown(store.get(conversation.id)!, new Date(0));
    const block = "<details>\n<summary>Thinking (7 tokens)</summary>\n\nShort waves scatter &lt;/details> more.\n\n</details>\n\nScattering.";
    expect(markdown).toContain(`## Assistant\n\n${block}`);
    // Exactly one block: the user's turn has none, and the thinking cannot close it early.
    expect(markdown.match(/<details>/g)).toHaveLength(1);
    expect(markdown.match(/<\/details>/g)).toHaveLength(1);
  });
});

describe("messages stored before thinking was kept", () => {
  it("read back without a reasoning field once the database is migrated", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-reasoning-"));
    try {
      const file = path.join(dir, "app.db");
      const old = new Database(file);
      const version = MIGRATIONS.findIndex((sql) => /ADD COLUMN reasoning/.test(sql));
      for (const sql of MIGRATIONS.slice(0, version)) old.exec(sql);
      old.pragma(`user_version = ${version}`);
      old.prepare("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('c', 'Old', 1, 1)").run();
      old.prepare("INSERT INTO messages (id, conversation_id, position, role, content, created_at) VALUES ('m', 'c', 0, 'assistant', 'Hi', 1)").run();
      old.close();

      const migrated = new AppDatabase(file);
      try {
        expect(migrated.schemaVersion).toBe(MIGRATIONS.length);
        expect(new ConversationStore(migrated).get("c")!.messages).toEqual([{ id: "m", role: "assistant", content: "Hi", createdAt: 1 }]);
      } finally {
        migrated.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
