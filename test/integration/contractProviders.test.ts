/**
 * The providers group and the model catalogue through the contract (in-memory transport) over a
 * real core, against the fake OpenAI-compatible upstream on loopback: test a connection, add a
 * provider, see it healthy with its models, chat with its model, see the usage and cost, edit
 * it without retyping the key, see it go down, remove it. The key never comes back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatStreamEvent, MardukApi, ProviderInfo } from "../../src/shared/contract/index.js";
import { FakeUpstream } from "../fixtures/fakeUpstream/index.js";
import { waitForEvent } from "../helpers/events.js";
import { connectInMemory, recordChat, type ContractConnection } from "../helpers/rpcConnections.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

const UPSTREAM_KEY = "sk-upstream-secret-0123456789";
const REMOTE_REPLY = "Hello from the fake upstream.";

describe("the providers group over a real core and a fake upstream", () => {
  let upstream: FakeUpstream;
  let testCore: TestCore;
  let connection: ContractConnection;
  let api: MardukApi;
  /** Everything the UI received from the providers group, to check no key is in it. */
  const received: unknown[] = [];
  let stopRecording: () => void;

  const provider = (list: ProviderInfo[], id = "fake-upstream") => list.find((entry) => entry.id === id);

  beforeAll(async () => {
    upstream = await FakeUpstream.start({ models: ["remote-model"], name: "fake", apiKey: UPSTREAM_KEY });
    // Health checks every 300 ms, so a remote that goes away shows up quickly.
    testCore = createTestCore({ watchModels: false, routing: { providers: [], routes: [], router: { healthIntervalMs: 300 } } });
    connection = connectInMemory(testCore.core.contract);
    api = connection.api;
    stopRecording = api.providers.onChanged((list) => received.push(list));
  });
  afterAll(async () => {
    stopRecording?.();
    await connection?.close();
    await testCore?.dispose();
    await upstream?.close();
  });

  it("starts without remote providers: the catalogue has no remote model", async () => {
    await expect(api.providers.list()).resolves.toEqual([]);
    expect((await api.models.catalog()).filter((entry) => entry.kind !== "local")).toEqual([]);
  });

  it("tests a connection: the models and the latency, or why it failed, naming the field", async () => {
    const settings = { id: "fake-upstream", baseUrl: upstream.url };
    const result = await api.providers.test({ ...settings, apiKey: UPSTREAM_KEY });
    expect(result.models).toEqual(["remote-model"]);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    await expect(api.providers.test({ ...settings, apiKey: "sk-wrong" })).rejects.toMatchObject({ code: "upstream_error" });
    await expect(api.providers.test({ id: "fake-upstream", baseUrl: "not a url" })).rejects.toMatchObject({ code: "invalid_argument", param: "baseUrl" });
    await expect(api.providers.test({ id: "nothing-saved" })).rejects.toMatchObject({ code: "invalid_argument", param: "id" });
    // Nothing was saved by testing.
    await expect(api.providers.list()).resolves.toEqual([]);
  });

  it("saves a provider: it is used at once, reported healthy with its model, with only a masked key", async () => {
    const healthy = waitForEvent(api.providers.onChanged, (list) => provider(list)?.health?.healthy === true);
    const saved = await api.providers.save({ id: "fake-upstream", baseUrl: upstream.url, apiKey: UPSTREAM_KEY, price: { input: 1000, output: 2000 }, maxConcurrency: 2 });
    expect(saved).toMatchObject({ id: "fake-upstream", baseUrl: upstream.url, source: "app", editable: true, price: { input: 1000, output: 2000 }, maxConcurrency: 2 });
    expect(saved.maskedApiKey).toBe("sk-…6789");
    const list = await healthy;
    expect(provider(list)!.health).toMatchObject({ healthy: true, circuit: "closed", consecutiveFailures: 0, models: ["remote-model"] });

    const catalog = await api.models.catalog();
    expect(catalog).toContainEqual({ id: "remote-model", kind: "remote", providers: ["fake-upstream"], capabilities: { chat: true, embeddings: true } });
  });

  it("chats with the remote's model from a conversation, and the usage ledger counts it with its cost", async () => {
    const chat = recordChat(api);
    try {
      const conversation = await api.conversations.create({ modelId: "remote-model" });
      const started = await api.chat.send({ conversationId: conversation.id, content: "Hi there" });
      const { deltas, end } = await chat.finished(started.generationId);
      const done = end as Extract<ChatStreamEvent, { type: "done" }>;
      expect(done.type).toBe("done");
      expect(deltas.join("")).toBe(REMOTE_REPLY);
      expect(done.message).toMatchObject({ content: REMOTE_REPLY, modelId: "remote-model" });
    } finally {
      chat.stop();
    }

    const usage = await api.providers.usage({});
    const row = usage.rows.find((entry) => entry.provider === "fake-upstream");
    expect(row).toMatchObject({ model: "remote-model", requests: 1, errors: 0 });
    expect(row!.completionTokens).toBeGreaterThan(0);
    expect(row!.costUsd).toBeGreaterThan(0);
    expect(usage).toMatchObject({ requests: 1, localRequests: 0, localShare: 0 });
    expect(usage.costUsd).toBeCloseTo(row!.costUsd);
    await expect(api.providers.usage({ sinceMs: Date.now() + 60_000 })).resolves.toMatchObject({ requests: 0, rows: [] });
  });

  it("edits the provider without retyping the key (kept), and removes the key with an empty one", async () => {
    const edited = await api.providers.save({ id: "fake-upstream", baseUrl: upstream.url, price: { input: 1, output: 1 } });
    expect(edited).toMatchObject({ maskedApiKey: "sk-…6789", price: { input: 1, output: 1 } });
    // Testing the saved provider, or its settings with the key left out, uses the stored key.
    await expect(api.providers.test({ id: "fake-upstream" })).resolves.toMatchObject({ models: ["remote-model"] });
    await expect(api.providers.test({ id: "fake-upstream", baseUrl: upstream.url })).resolves.toMatchObject({ models: ["remote-model"] });

    const withoutKey = await api.providers.save({ id: "fake-upstream", baseUrl: upstream.url, apiKey: "" });
    expect(withoutKey.maskedApiKey).toBeUndefined();
    await expect(api.providers.test({ id: "fake-upstream" })).rejects.toMatchObject({ code: "upstream_error" });
    const healthy = waitForEvent(api.providers.onChanged, (list) => provider(list)?.health?.healthy === true);
    await api.providers.save({ id: "fake-upstream", baseUrl: upstream.url, apiKey: UPSTREAM_KEY });
    await healthy;
  });

  it("reports the provider unhealthy, with the error, when it goes away", async () => {
    const down = waitForEvent(api.providers.onChanged, (list) => provider(list)?.health?.lastError !== undefined);
    await upstream.close();
    const health = provider(await down)!.health!;
    expect(health.healthy).toBe(false);
    expect(health.lastError).toBeTruthy();
    expect(health.consecutiveFailures).toBeGreaterThan(0);
    await upstream.restart();
    await waitForEvent(api.providers.onChanged, (list) => provider(list)?.health?.healthy === true);
  });

  it("removes the provider: its model leaves the catalogue", async () => {
    const gone = waitForEvent(api.providers.onChanged, (list) => provider(list) === undefined);
    await api.providers.remove({ id: "fake-upstream" });
    await gone;
    await expect(api.providers.list()).resolves.toEqual([]);
    expect((await api.models.catalog()).map((entry) => entry.id)).not.toContain("remote-model");
    await expect(api.providers.remove({ id: "fake-upstream" })).rejects.toMatchObject({ code: "invalid_argument", param: "id" });
  });

  it("never sent the key to the UI", () => {
    expect(received.length).toBeGreaterThan(0);
    expect(JSON.stringify(received)).not.toContain(UPSTREAM_KEY);
  });
});
