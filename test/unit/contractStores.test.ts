import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { conversationToMarkdown, fileNameFor } from "../../src/core/contract/ConversationsService.js";
import { titleFromMessage, toGenerationOptions } from "../../src/core/contract/ChatService.js";
import { parseOrigin } from "../../src/core/contract/ServerService.js";
import { redactKeyParameter } from "../../src/core/api/security/registerSecurity.js";
import { ApiKeyStore } from "../../src/core/storage/ApiKeyStore.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ConversationStore, UNTITLED_CONVERSATION } from "../../src/core/storage/ConversationStore.js";
import { MIGRATIONS } from "../../src/core/storage/migrations.js";

let database: AppDatabase;
beforeEach(() => {
  database = new AppDatabase(":memory:");
});
afterEach(() => database.dispose());

describe("ConversationStore", () => {
  it("migrates to the latest schema", () => {
    expect(database.schemaVersion).toBe(MIGRATIONS.length);
  });

  it("keeps conversations with their messages in order, most recently updated first", () => {
    const store = new ConversationStore(database);
    let changes = 0;
    store.on("changed", () => changes++);
    const first = store.create({ modelId: "m", settings: { temperature: 0.5, stop: ["\n"] } });
    const second = store.create({ title: "Second" });
    expect(first).toMatchObject({ title: UNTITLED_CONVERSATION, modelId: "m", systemPrompt: "", settings: { temperature: 0.5, stop: ["\n"] }, messages: [] });
    expect(second.modelId).toBeUndefined();
    expect(store.list().map((summary) => summary.id)).toEqual([second.id, first.id]);

    const user = store.appendMessage(first.id, { role: "user", content: "Hi" });
    const reply = store.appendMessage(first.id, {
      role: "assistant",
      content: "Hello",
      modelId: "m",
      stats: { promptTokens: 3, completionTokens: 2, timeToFirstTokenMs: 5, decodeTokensPerSecond: 40, finishReason: "stop" },
    });
    const followUp = store.appendMessage(first.id, { role: "user", content: "More" });
    expect(store.list()[0]).toMatchObject({ id: first.id, messageCount: 3 });
    expect(store.get(first.id)!.messages).toEqual([user, reply, followUp]);

    expect(store.deleteMessagesAfter(first.id, user.id)).toBe(2);
    expect(store.updateMessageContent(first.id, user.id, "Hi!")).toBe(true);
    expect(store.updateMessageContent(second.id, user.id, "not in this one")).toBe(false);
    expect(store.get(first.id)!.messages.map((message) => message.content)).toEqual(["Hi!"]);
    // Positions continue after a truncation.
    store.appendMessage(first.id, { role: "assistant", content: "Again" });
    expect(store.get(first.id)!.messages.map((message) => message.content)).toEqual(["Hi!", "Again"]);

    expect(store.update(first.id, { modelId: null, title: "Renamed" })).toMatchObject({ title: "Renamed" });
    expect(store.get(first.id)!.modelId).toBeUndefined();
    expect(store.update("missing", { title: "x" })).toBeUndefined();
    expect(store.remove(first.id)).toBe(true);
    expect(store.remove(first.id)).toBe(false);
    // Messages go with their conversation.
    expect(database.db.prepare("SELECT COUNT(*) AS n FROM messages").get()).toEqual({ n: 0 });
    expect(changes).toBeGreaterThanOrEqual(9);
  });
});

describe("ApiKeyStore", () => {
  it("stores only SHA-256 digests and shows a key once", () => {
    const store = new ApiKeyStore(database);
    const { key, info } = store.create("ci");
    expect(key).toMatch(/^mk-[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({ name: "ci", prefix: key.slice(0, 7) });
    const row = database.db.prepare("SELECT * FROM api_keys").get() as Record<string, unknown>;
    expect(Object.values(row).some((value) => typeof value === "string" && value.includes(key.slice(7)))).toBe(false);
    expect(Buffer.from(row.sha256 as Uint8Array).equals(createHash("sha256").update(key).digest())).toBe(true);
    expect(store.list()).toEqual([info]);
  });

  it("verifies keys by id, across instances, until revoked", () => {
    const store = new ApiKeyStore(database);
    const a = store.create("a");
    const b = store.create("b");
    expect(store.verify(a.key)).toBe(a.info.id);
    expect(store.verify(b.key)).toBe(b.info.id);
    for (const wrong of [undefined, "", a.key.slice(0, -1), `${a.key} `, "mk-"]) expect(store.verify(wrong)).toBeUndefined();
    // Another instance (the next launch) reads the digests from the database.
    expect(new ApiKeyStore(database).verify(b.key)).toBe(b.info.id);
    expect(store.revoke(a.info.id)).toBe(true);
    expect(store.revoke(a.info.id)).toBe(false);
    expect(store.verify(a.key)).toBeUndefined();
    expect(store.size).toBe(1);
  });
});

describe("contract helpers", () => {
  it("names conversations and files from their text", () => {
    expect(titleFromMessage("  What is the capital of France?\nThanks")).toBe("What is the capital of France?");
    expect(titleFromMessage("word ".repeat(30))).toMatch(/^(word ){5,}.*…$/);
    expect(titleFromMessage("   ")).toBe(UNTITLED_CONVERSATION);
    expect(fileNameFor("Crème brûlée: a recipe!", "md")).toBe("creme-brulee-a-recipe.md");
    expect(fileNameFor("???", "json")).toBe("conversation.json");
  });

  it("maps chat settings to generation options without undefined fields", () => {
    expect(toGenerationOptions({ temperature: 0, maxTokens: 10 })).toEqual({ temperature: 0, maxTokens: 10 });
  });

  it("keeps API keys given as ?key= out of request logs", () => {
    expect(redactKeyParameter("/rpc?key=mk-secret&x=1")).toBe("/rpc?key=[redacted]&x=1");
    expect(redactKeyParameter("/rpc?x=1&KEY=abc")).toBe("/rpc?x=1&KEY=[redacted]");
    expect(redactKeyParameter("/v1/models?monkey=1")).toBe("/v1/models?monkey=1");
  });

  it("accepts exact http(s) origins only", () => {
    expect(parseOrigin("https://app.example.com/", "o")).toBe("https://app.example.com");
    expect(parseOrigin("http://127.0.0.1:5173", "o")).toBe("http://127.0.0.1:5173");
    for (const bad of ["*", "https://app.example.com/path", "file:///x", "javascript:alert(1)", "https://user:pw@app.example.com", "app.example.com"]) {
      expect(() => parseOrigin(bad, "o"), bad).toThrow();
    }
  });

  it("writes a readable Markdown transcript", () => {
    const markdown = conversationToMarkdown(
      {
        id: "c",
        title: "Fox",
        modelId: "fixture",
        createdAt: 0,
        updatedAt: 0,
        messageCount: 2,
        systemPrompt: "Be brief.",
        settings: {},
        messages: [
          { id: "1", role: "user", content: "Hi", createdAt: 0 },
          {
            id: "2",
            role: "assistant",
            content: "The quick brown fox.",
            createdAt: 0,
            modelId: "fixture",
            stats: { promptTokens: 5, completionTokens: 10, timeToFirstTokenMs: 12.4, decodeTokensPerSecond: 512.34, finishReason: "stop" },
          },
        ],
      },
      new Date(0),
    );
    expect(markdown).toContain("# Fox\n");
    expect(markdown).toContain("## System\n\nBe brief.\n");
    expect(markdown).toContain("## User\n\nHi\n");
    expect(markdown).toContain("## Assistant\n\nThe quick brown fox.\n");
    expect(markdown).toContain("*fixture · 10 tokens · 512.3 tokens/s · first token 12 ms · finish: stop*");
  });
});
