/**
 * One contract suite, run over two transports: the in-memory pair and a real WebSocket to a
 * real `createApiServer` on 127.0.0.1, both over a real core with the generated fixture model
 * (whose greedy reply to any chat is FIXTURE_SENTENCE) and a random-weight bench model that
 * never stops by itself (for stopping a generation half way).
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import type { MardukApi, MetricsSample, ServerStatus } from "../../src/shared/contract/index.js";
import { FIXTURE_SENTENCE, getBenchModelPath, getFixtureModelPath, TINY_BENCH_SHAPE } from "../fixtures/gguf/index.js";
import { writeFixtureLora } from "../helpers/libraryModels.js";
import { rawRequest } from "../helpers/rawHttp.js";
import { connectInMemory, connectWebSocket, recordChat, type ContractConnection } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

type Connect = (server: TestServer) => Promise<ContractConnection>;

function doneMessage(end: ChatStreamEvent) {
  if (end.type !== "done") throw new Error(`the generation ended with ${JSON.stringify(end)}`);
  return end.message;
}

/** Waits for the first value `next` gives that passes `accept`. */
function waitForEvent<T>(subscribe: (listener: (value: T) => void) => () => void, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error("Timed out waiting for an event"));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

function contractSuite(transport: string, connect: Connect): void {
  describe(`the contract over ${transport}`, () => {
    let server: TestServer;
    let connection: ContractConnection;
    let api: MardukApi;
    let chat: ReturnType<typeof recordChat>;

    beforeAll(async () => {
      server = await startTestServer();
      copyFileSync(await getBenchModelPath({ ...TINY_BENCH_SHAPE, type: "q8_0" }), path.join(server.modelsDir, "bench.gguf"));
      copyFileSync(await getFixtureModelPath(), path.join(server.modelsDir, "lora-base.gguf"));
      await writeFixtureLora(await getFixtureModelPath(), path.join(server.modelsDir, "dog-lora.gguf"));
      connection = await connect(server);
      api = connection.api;
      chat = recordChat(api);
    });
    afterAll(async () => {
      await connection?.close();
      await server?.dispose();
    });

    it("lists the library's models", async () => {
      const ids = (await api.models.list()).map((model) => model.id);
      expect(ids).toEqual(expect.arrayContaining(["bench", "fixture"]));
      await expect(api.downloads.list()).resolves.toEqual([]);
      await expect(api.models.starters()).resolves.not.toHaveLength(0);
    });

    it("loads a model with a LoRA adapter from the library", async () => {
      const adapter = (await api.models.list()).find((model) => model.id === "dog-lora");
      expect(adapter).toMatchObject({ kind: "adapter", status: "ok" });
      await api.models.load({ id: "lora-base", options: { contextSize: 512, loraAdapters: [{ id: "dog-lora", scale: 1 }] } });
      const conversation = await api.conversations.create({ modelId: "lora-base", settings: { temperature: 0, maxTokens: 3 } });
      const started = await api.chat.send({ conversationId: conversation.id, content: "Hi" });
      expect(doneMessage((await chat.finished(started.generationId)).end).content.trim()).toBe("dog dog dog");
      await expect(api.models.load({ id: "lora-base", options: { loraAdapters: [{ id: "missing" }] } })).rejects.toMatchObject({ code: "model_load_failed" });
      await api.models.unload({ id: "lora-base" });
    });

    it("creates, lists, renames, exports and removes conversations", async () => {
      const created = await api.conversations.create({ title: "Trip plans", modelId: "fixture", systemPrompt: "Be brief.", settings: { temperature: 0 } });
      expect(created).toMatchObject({ title: "Trip plans", modelId: "fixture", systemPrompt: "Be brief.", settings: { temperature: 0 }, messages: [], messageCount: 0 });
      expect((await api.conversations.list()).map((summary) => summary.id)).toContain(created.id);

      const changed = waitForEvent(api.conversations.onChanged, (list) => list.some((summary) => summary.title === "Holiday"));
      const renamed = await api.conversations.update({ id: created.id, title: "Holiday", settings: { temperature: 0, maxTokens: 64 } });
      expect(renamed).toMatchObject({ title: "Holiday", settings: { maxTokens: 64 } });
      expect(renamed.updatedAt).toBeGreaterThan(created.updatedAt);
      await changed;
      await expect(api.conversations.get({ id: created.id })).resolves.toMatchObject({ title: "Holiday" });

      const json = await api.conversations.export({ id: created.id, format: "json" });
      expect(json).toMatchObject({ fileName: "holiday.json", mimeType: "application/json" });
      expect(JSON.parse(json.content)).toMatchObject({ format: "marduk-local.conversation", conversation: { id: created.id, title: "Holiday", systemPrompt: "Be brief." } });
      const markdown = await api.conversations.export({ id: created.id, format: "markdown" });
      expect(markdown).toMatchObject({ fileName: "holiday.md", mimeType: "text/markdown" });
      expect(markdown.content).toMatch(/^# Holiday\n/);
      expect(markdown.content).toContain("## System\n\nBe brief.");

      await api.conversations.remove({ id: created.id });
      expect((await api.conversations.list()).map((summary) => summary.id)).not.toContain(created.id);
      await expect(api.conversations.get({ id: created.id })).rejects.toMatchObject({ code: "invalid_argument", param: "id" });
      await expect(api.conversations.update({ id: created.id, title: "x" } as never)).rejects.toMatchObject({ code: "invalid_argument" });
      await expect(api.conversations.create({ title: 42 } as never)).rejects.toMatchObject({ code: "invalid_argument", param: "title" });
    });

    it("chat.send streams deltas that join to the reply, then done with the stored message and its stats", async () => {
      const conversation = await api.conversations.create({ modelId: "fixture", settings: { temperature: 0 } });
      const started = await api.chat.send({ conversationId: conversation.id, content: "Hello there" });
      expect(started).toMatchObject({ conversationId: conversation.id, userMessage: { role: "user", content: "Hello there" } });
      const { deltas, end, events } = await chat.finished(started.generationId);
      expect(deltas.join("")).toBe(FIXTURE_SENTENCE);
      expect(events.at(-1)).toBe(end);
      const message = doneMessage(end);
      expect(message).toMatchObject({ id: started.assistantMessageId, role: "assistant", content: FIXTURE_SENTENCE, modelId: "fixture" });
      expect(message.stats).toMatchObject({ completionTokens: 10, finishReason: "stop" });
      expect(message.stats!.promptTokens).toBeGreaterThan(0);
      expect(message.stats!.decodeTokensPerSecond).toBeGreaterThan(0);
      expect(message.stats!.timeToFirstTokenMs).toBeGreaterThan(0);

      const stored = await api.conversations.get({ id: conversation.id });
      expect(stored.title).toBe("Hello there");
      expect(stored.messages.map((entry) => [entry.role, entry.content])).toEqual([
        ["user", "Hello there"],
        ["assistant", FIXTURE_SENTENCE],
      ]);
      const usage = await api.chat.contextUsage({ conversationId: conversation.id });
      expect(usage.contextSize).toBe(2048);
      expect(usage.usedTokens).toBeGreaterThan(message.stats!.completionTokens);
      expect((await api.models.loaded()).map((model) => model.id)).toContain("fixture");
    });

    it("refuses a chat without a model, with an unknown model, and a second one while the first runs", async () => {
      const noModel = await api.conversations.create({});
      await expect(api.chat.send({ conversationId: noModel.id, content: "Hi" })).rejects.toMatchObject({ code: "invalid_argument", param: "modelId" });
      const unknown = await api.conversations.create({ modelId: "not-a-model" });
      await expect(api.chat.send({ conversationId: unknown.id, content: "Hi" })).rejects.toMatchObject({ code: "model_not_found" });
      const outside = await api.conversations.create({ modelId: "/etc/passwd.gguf" });
      await expect(api.chat.send({ conversationId: outside.id, content: "Hi" })).rejects.toMatchObject({ code: "invalid_argument" });
      // Nothing was stored for the refused sends.
      expect((await api.conversations.get({ id: unknown.id })).messages).toEqual([]);
    });

    it("stop keeps the partial reply with finish reason abort", async () => {
      const conversation = await api.conversations.create({ modelId: "bench", settings: { temperature: 0, maxTokens: 1500 } });
      const started = await api.chat.send({ conversationId: conversation.id, content: "Tell me a long story" });
      await chat.firstDelta(started.generationId);
      await expect(api.chat.send({ conversationId: conversation.id, content: "again" })).rejects.toMatchObject({ code: "invalid_argument" });
      await api.chat.stop({ generationId: started.generationId });
      const { deltas, end } = await chat.finished(started.generationId);
      const message = doneMessage(end);
      expect(message.stats).toMatchObject({ finishReason: "abort" });
      expect(message.stats!.completionTokens).toBeGreaterThan(0);
      expect(message.stats!.completionTokens).toBeLessThan(1500);
      expect(message.content.length).toBeGreaterThan(0);
      expect(deltas.join("").startsWith(message.content) || message.content.startsWith(deltas.join(""))).toBe(true);
      const stored = await api.conversations.get({ id: conversation.id });
      expect(stored.messages.at(-1)).toMatchObject({ role: "assistant", content: message.content, stats: { finishReason: "abort" } });
      // Stopping a generation that ended is a no-op.
      await expect(api.chat.stop({ generationId: started.generationId })).resolves.toBeUndefined();
    });

    it("the ignoreEos setting keeps generating past the end token", async () => {
      const conversation = await api.conversations.create({ modelId: "fixture", settings: { temperature: 0, ignoreEos: true, maxTokens: 15 } });
      const started = await api.chat.send({ conversationId: conversation.id, content: "Hi" });
      const message = doneMessage((await chat.finished(started.generationId)).end);
      expect(message.stats).toMatchObject({ completionTokens: 15, finishReason: "length" });
      expect(message.content.startsWith(FIXTURE_SENTENCE)).toBe(true);
    });

    it("regenerate replaces the last reply", async () => {
      const conversation = await api.conversations.create({ modelId: "fixture", settings: { temperature: 0 } });
      const first = await api.chat.send({ conversationId: conversation.id, content: "Hi" });
      await chat.finished(first.generationId);
      const again = await api.chat.regenerate({ conversationId: conversation.id });
      expect(again.userMessage).toBeUndefined();
      expect(again.assistantMessageId).not.toBe(first.assistantMessageId);
      const message = doneMessage((await chat.finished(again.generationId)).end);
      expect(message.content).toBe(FIXTURE_SENTENCE);
      const stored = await api.conversations.get({ id: conversation.id });
      expect(stored.messages.map((entry) => entry.id)).toEqual([first.userMessage!.id, again.assistantMessageId]);
    });

    it("editAndResend makes a new version (a branch) of a user message; the old branch stays a version", async () => {
      const conversation = await api.conversations.create({ modelId: "fixture", settings: { temperature: 0 } });
      const first = await api.chat.send({ conversationId: conversation.id, content: "First question" });
      await chat.finished(first.generationId);
      const second = await api.chat.send({ conversationId: conversation.id, content: "Second question" });
      await chat.finished(second.generationId);
      expect((await api.conversations.get({ id: conversation.id })).messages).toHaveLength(4);

      const edited = await api.chat.editAndResend({ conversationId: conversation.id, messageId: first.userMessage!.id, content: "Edited question" });
      expect(edited.userMessage).toMatchObject({ content: "Edited question", versionIds: [first.userMessage!.id, edited.userMessage!.id] });
      doneMessage((await chat.finished(edited.generationId)).end);
      const stored = await api.conversations.get({ id: conversation.id });
      expect(stored.messages.map((entry) => [entry.role, entry.content])).toEqual([
        ["user", "Edited question"],
        ["assistant", FIXTURE_SENTENCE],
      ]);
      await expect(
        api.chat.editAndResend({ conversationId: conversation.id, messageId: stored.messages[1]!.id, content: "no" }),
      ).rejects.toMatchObject({ code: "invalid_argument", param: "messageId" });
    });

    it("metrics.onSample delivers a sample with non-zero decode tokens/s after a chat", async () => {
      const samples: MetricsSample[] = [];
      const stopSamples = api.metrics.onSample((sample) => samples.push(sample));
      try {
        const conversation = await api.conversations.create({ modelId: "fixture", settings: { temperature: 0 } });
        const started = await api.chat.send({ conversationId: conversation.id, content: "Measure me" });
        await chat.finished(started.generationId);
        // Tokens count in the window they stream in, the prompt and first-token time in the one the
        // generation ends in: on a loaded machine those can be two samples.
        await vi.waitFor(
          () => {
            expect(samples.some((sample) => sample.decodeTokensPerSecond > 0)).toBe(true);
            expect(samples.some((sample) => sample.promptTokensPerSecond > 0 && (sample.timeToFirstTokenMs ?? 0) > 0)).toBe(true);
          },
          { timeout: 20_000, interval: 100 },
        );
        const sample = samples.at(-1)!;
        expect(sample.gpu).toBeNull();
        expect(sample.cpuPercent).toBeGreaterThanOrEqual(0);
        expect(sample.cpuPercent).toBeLessThanOrEqual(100);
        expect(sample.ramTotalBytes).toBeGreaterThan(sample.ramUsedBytes);
        expect(sample.processRssBytes).toBeGreaterThan(0);
        expect(sample.models.find((model) => model.id === "fixture")?.memoryBytes).toBeGreaterThan(0);
        const history = await api.metrics.history();
        expect(history.length).toBeGreaterThan(0);
        expect(history.at(-1)!.time).toBeGreaterThanOrEqual(history[0]!.time);
      } finally {
        stopSamples();
      }
    });

    it("settings round-trip and notify", async () => {
      await expect(api.settings.get()).resolves.toEqual({ defaultSystemPrompt: "", theme: "system", defaultChatSettings: {} });
      const changed = waitForEvent(api.settings.onChanged, (settings) => settings.theme === "dark");
      await expect(api.settings.update({ theme: "dark", defaultModelId: "fixture", defaultSystemPrompt: "Be kind." })).resolves.toEqual({
        theme: "dark",
        defaultModelId: "fixture",
        defaultSystemPrompt: "Be kind.",
        defaultChatSettings: {},
      });
      await changed;
      // New conversations take the defaults.
      await expect(api.conversations.create({})).resolves.toMatchObject({ modelId: "fixture", systemPrompt: "Be kind." });
      await expect(api.settings.update({ theme: "neon" } as never)).rejects.toMatchObject({ code: "invalid_argument", param: "theme" });
      await api.settings.update({ defaultModelId: "", theme: "system", defaultSystemPrompt: "" });
      expect(await api.settings.get()).toEqual({ defaultSystemPrompt: "", theme: "system", defaultChatSettings: {} });
    });

    it("server: status, keys that authenticate HTTP requests until revoked, CORS origins", async () => {
      const status = await api.server.status();
      expect(status).toMatchObject({ mode: "headless", running: true, url: server.url, requiresApiKey: false, corsOrigins: [] });
      await expect(api.server.start({})).rejects.toMatchObject({ code: "unsupported" });
      await expect(api.server.stop()).rejects.toMatchObject({ code: "unsupported" });

      const statusEvents: ServerStatus[] = [];
      const stopStatus = api.server.onStatus((next) => statusEvents.push(next));
      const first = await api.server.createKey({ name: "laptop" });
      const second = await api.server.createKey({ name: "phone" });
      expect(first.key).toMatch(/^mk-[A-Za-z0-9_-]{43}$/);
      expect(first.info).toMatchObject({ name: "laptop", prefix: first.key.slice(0, 7) });
      const listed = await api.server.listKeys();
      expect(listed).toEqual([first.info, second.info]);
      expect(JSON.stringify(listed)).not.toContain(first.key);
      expect((await api.server.status()).requiresApiKey).toBe(true);

      const models = (key?: string) => rawRequest(`${server.url}/v1/models`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      expect((await models()).status).toBe(401);
      expect((await models(first.key)).status).toBe(200);
      expect((await models(first.key + "x")).status).toBe(401);
      expect((await rawRequest(`${server.url}/api/tags`, { headers: { "x-api-key": second.key } })).status).toBe(200);
      expect(server.core.auditLog.recent(5).some((entry) => entry.keyId === first.info.id)).toBe(true);

      await api.server.revokeKey({ id: first.info.id });
      expect((await models(first.key)).status).toBe(401);
      expect((await models(second.key)).status).toBe(200);
      await expect(api.server.revokeKey({ id: first.info.id })).rejects.toMatchObject({ code: "invalid_argument" });
      await api.server.revokeKey({ id: second.info.id });
      expect((await api.server.listKeys())).toEqual([]);
      expect((await models()).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      stopStatus();
      expect(statusEvents.map((next) => next.requiresApiKey)).toEqual([true, true, true, false]);

      const origin = "https://ui.example.com";
      expect((await rawRequest(`${server.url}/v1/models`, { headers: { origin } })).status).toBe(403);
      await expect(api.server.setCorsOrigins({ origins: [origin, `${origin}/`] })).resolves.toMatchObject({ corsOrigins: [origin] });
      const allowed = await rawRequest(`${server.url}/v1/models`, { headers: { origin } });
      expect(allowed.status).toBe(200);
      expect(allowed.headers["access-control-allow-origin"]).toBe(origin);
      await expect(api.server.setCorsOrigins({ origins: ["https://ui.example.com/app"] })).rejects.toMatchObject({ code: "invalid_argument" });
      await expect(api.server.setCorsOrigins({ origins: ["*"] })).rejects.toMatchObject({ code: "invalid_argument" });
      await api.server.setCorsOrigins({ origins: [] });
      expect((await rawRequest(`${server.url}/v1/models`, { headers: { origin } })).status).toBe(403);
    });
  });
}

contractSuite("the in-memory transport", async (server) => connectInMemory(server.core.contract));
contractSuite("a WebSocket", async (server) => connectWebSocket(server.url));
