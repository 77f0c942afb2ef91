import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { EMBEDDING_DIMENSIONS, embeddingOf, FakeUpstream } from "../fixtures/fakeUpstream/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";
import type { RouterConfig } from "../../src/core/router/routerConfig.js";
import { parseRouterConfig } from "../../src/core/router/routerConfig.js";

/**
 * The router against fault-injecting OpenAI-compatible upstreams on loopback, through the real
 * HTTP server and the official `openai` client: fallback before the first token, never after,
 * breakers, Retry-After, local-only, weighted splits, stickiness and the response cache.
 */
const REPLY = "Hello from the fake upstream.";
let alpha: FakeUpstream;
let beta: FakeUpstream;
let server: TestServer;
let client: OpenAI;

function routing(): RouterConfig {
  return parseRouterConfig({
    providers: [
      { id: "alpha", baseUrl: alpha.url, models: ["shared-model", "alpha-only"], price: { input: 1, output: 2 }, timeouts: { firstTokenMs: 400 } },
      { id: "beta", baseUrl: beta.url, models: ["shared-model"], price: { input: 3, output: 6 }, timeouts: { firstTokenMs: 400 } },
    ],
    routes: [
      { alias: "split", policy: "weighted", targets: [{ provider: "alpha", model: "shared-model", weight: 20 }, { provider: "beta", model: "shared-model", weight: 80 }] },
      { alias: "private-chat", localOnly: true, targets: [{ provider: "local", model: "fixture" }] },
      { alias: "default-chat", policy: "local-first", targets: [{ provider: "local", model: "fixture" }, { provider: "beta", model: "shared-model" }] },
      { alias: "cheap-first", policy: "cheapest", targets: [{ provider: "beta", model: "shared-model" }, { provider: "alpha", model: "shared-model" }] },
    ],
    router: { healthIntervalMs: 0, breaker: { failureThreshold: 2, cooldownMs: 300 } },
  });
}

async function served(model: string, init: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming> = {}, headers: Record<string, string> = {}) {
  const { data, response } = await client.chat.completions
    .create({ model, messages: [{ role: "user", content: "Hi" }], ...init }, { headers })
    .withResponse();
  return { text: data.choices[0]!.message.content, provider: response.headers.get("x-marduk-provider"), cache: response.headers.get("x-marduk-cache"), model: data.model };
}

beforeAll(async () => {
  alpha = await FakeUpstream.start({ models: ["shared-model", "alpha-only"], name: "alpha" });
  beta = await FakeUpstream.start({ models: ["shared-model"], name: "beta" });
  server = await startTestServer({ coreOptions: { routing: routing() } });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await server?.dispose();
  await alpha?.close();
  await beta?.close();
});

afterEach(() => {
  alpha.setFault({ kind: "none" });
  beta.setFault({ kind: "none" });
});

describe("router: the catalogue", () => {
  it("lists local models, the remotes' models and the aliases in /v1/models and /api/tags", async () => {
    const models = await client.models.list();
    const byId = new Map(models.data.map((model) => [model.id, model.owned_by]));
    expect(byId.get("fixture")).toBe("local");
    expect(byId.get("shared-model")).toBe("alpha");
    expect(byId.get("alpha-only")).toBe("alpha");
    expect(byId.get("split")).toBe("router");
    const tags = (await (await fetch(`${server.url}/api/tags`)).json()) as { models: { name: string }[] };
    expect(tags.models.map((model) => model.name)).toEqual(expect.arrayContaining(["fixture:latest", "shared-model:latest", "split:latest", "default-chat:latest"]));
  });

  it("serves a remote-only model through the remote and names it in the headers", async () => {
    const result = await served("alpha-only");
    expect(result).toMatchObject({ text: REPLY, provider: "alpha", model: "alpha-only" });
  });

  it("reports the stop sequence a remote says it stopped at (vLLM's stop_reason), as Anthropic's stop_sequence", async () => {
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const message = await anthropic.messages.create({ model: "alpha-only", max_tokens: 32, stop_sequences: [" fake", " nowhere"], messages: [{ role: "user", content: "Hi" }] });
    expect(message.content).toEqual([{ type: "text", text: "Hello from the" }]);
    expect(message).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: " fake" });
    // Without one in the request, a remote's word is not taken: it ends its turn.
    const plain = await anthropic.messages.create({ model: "alpha-only", max_tokens: 32, messages: [{ role: "user", content: "Hi" }] });
    expect(plain).toMatchObject({ stop_reason: "end_turn", stop_sequence: null });
  });

  it("streams from a remote: the same text, the usage, the provider header", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: "alpha-only", messages: [{ role: "user", content: "Hi there" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(REPLY);
    expect(usage?.completion_tokens).toBe(5);
    expect(response.headers.get("x-marduk-provider")).toBe("alpha");
  });
});

describe("router: every dialect goes through the same door", () => {
  it("embeddings, completions and Ollama's chat reach a remote model too", async () => {
    const embeddings = await client.embeddings.create({ model: "alpha-only", input: ["one", "two"] }).withResponse();
    expect(embeddings.data.data.map((item) => item.embedding.length)).toEqual([EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS]);
    expect(embeddings.data.data[0]!.embedding[0]).toBeCloseTo(embeddingOf("one")[0]!, 5);
    expect(embeddings.response.headers.get("x-marduk-provider")).toBe("alpha");

    const completion = await client.completions.create({ model: "alpha-only", prompt: "Once", max_tokens: 3 });
    expect(completion.choices[0]!.text).toBe("Hello from the");
    expect(completion.choices[0]!.finish_reason).toBe("length");

    const response = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }] }) });
    expect(response.headers.get("x-marduk-provider")).toBe("alpha");
    const lines = (await response.text()).trim().split("\n").map((line) => JSON.parse(line) as { message: { content: string }; done: boolean });
    expect(lines.map((line) => line.message.content).join("")).toBe(REPLY);
    expect(lines.at(-1)!.done).toBe(true);
    // Ollama's empty request only "loads": a remote model needs nothing.
    const load = await fetch(`${server.url}/api/generate`, { method: "POST", body: JSON.stringify({ model: "alpha-only", prompt: "" }) });
    expect(await load.json()).toMatchObject({ model: "alpha-only", done: true, done_reason: "load" });
  });

  it("forwards tools and a forced tool call to the remote and returns its call", async () => {
    const completion = await client.chat.completions.create({
      model: "alpha-only",
      messages: [{ role: "user", content: "Weather?" }],
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }],
      tool_choice: "required",
    });
    expect(completion.choices[0]!.finish_reason).toBe("tool_calls");
    expect(completion.choices[0]!.message.tool_calls?.[0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: "{}" } });
    const body = alpha.chatBodies.at(-1) as { tools: unknown[]; tool_choice: unknown; stream: boolean };
    expect(body).toMatchObject({ tool_choice: "required", stream: true });
    expect(body.tools).toHaveLength(1);
  });
});

describe("router: failures before the first token fall back, after it never", () => {
  it("falls back from a 500 to the next target; the client never sees it", async () => {
    alpha.setFault({ kind: "status", status: 500, message: "boom" }, { times: 1 });
    const before = beta.requests("chat");
    const result = await served("cheap-first", { temperature: 0.5 });
    // "cheapest" tries alpha (1+2 $/M) before beta (3+6 $/M).
    expect(result.provider).toBe("beta");
    expect(result.text).toBe(REPLY);
    expect(beta.requests("chat")).toBe(before + 1);
  });

  it("a 429 with Retry-After cools the target down for that long", async () => {
    alpha.setFault({ kind: "status", status: 429, retryAfterSeconds: 1 }, { times: 1 });
    const alphaBefore = alpha.requests("chat");
    const pausedAt = performance.now();
    expect((await served("cheap-first", { temperature: 0.5 })).provider).toBe("beta");
    // Alpha is fine again, but asked for a second of rest: it gets nothing meanwhile...
    expect((await served("cheap-first", { temperature: 0.5 })).provider).toBe("beta");
    const refused = await served("alpha-only").catch((error: unknown) => error);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((refused as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("1");
    expect(alpha.requests("chat")).toBe(alphaBefore + 1);
    // ...and everything again after it.
    await expect.poll(async () => (await served("alpha-only").catch(() => undefined))?.provider, { timeout: 3_000, interval: 100 }).toBe("alpha");
    expect(performance.now() - pausedAt).toBeGreaterThanOrEqual(900);
  });

  it("a stall before the first token times out and falls back", async () => {
    beta.setFault({ kind: "stallBeforeFirstToken", ms: 5_000 }, { times: 1 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: "default-chat", messages: [{ role: "user", content: "Hi" }], stream: true }, { headers: { "x-marduk-local-only": "0" } })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    // default-chat is local first: the fixture answers; then ask beta directly through a weighted split.
    expect(response.headers.get("x-marduk-provider")).toBe("local");
    expect(text).toBe(FIXTURE_SENTENCE);
    beta.setFault({ kind: "stallBeforeFirstToken", ms: 5_000 }, { times: 1 });
    const splitStartedAt = performance.now();
    const result = await served("split", { temperature: 0.5, user: "sticky-to-beta-or-alpha" });
    expect(result.text).toBe(REPLY);
    // Waiting out the stall would take 5 s; the 400 ms first-token timeout ends it long before.
    // Only this request is timed: the local answer above may have had to load the model first.
    expect(performance.now() - splitStartedAt).toBeLessThan(4_500);
  });

  it("a connection dropped mid-stream is an error for the client, not a spliced answer", async () => {
    alpha.setFault({ kind: "dropMidStream", afterChunks: 2 }, { times: 1 });
    const betaBefore = beta.requests("chat");
    const stream = await client.chat.completions.create({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }], stream: true });
    let text = "";
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(text).toBe("Hello from");
    expect(beta.requests("chat")).toBe(betaBefore);
  });

  it("opens the circuit after repeated failures, skips the target, and closes it when it recovers", async () => {
    alpha.setFault({ kind: "status", status: 503 });
    for (let i = 0; i < 2; i++) expect((await served("cheap-first", { temperature: 0.5 })).provider).toBe("beta");
    const health = async () => ((await (await fetch(`${server.url}/health`)).json()) as { providers: { id: string; circuit: string }[] }).providers.find((provider) => provider.id === "alpha")!.circuit;
    expect(await health()).toBe("open");
    const alphaCalls = alpha.requests("chat");
    expect((await served("cheap-first", { temperature: 0.5 })).provider).toBe("beta");
    expect(alpha.requests("chat")).toBe(alphaCalls);
    // Recovered: after the cool-down, one probe goes through and closes the circuit.
    alpha.setFault({ kind: "none" });
    await expect.poll(health, { timeout: 3_000, interval: 50 }).toBe("half-open");
    expect((await served("cheap-first", { temperature: 0.5 })).provider).toBe("alpha");
    expect(await health()).toBe("closed");
  });

  it("with every target down, answers 503 in OpenAI's shape (Ollama's on /api) in well under 2 s", async () => {
    alpha.setFault({ kind: "status", status: 500 }, { times: 2 });
    beta.setFault({ kind: "status", status: 502 }, { times: 2 });
    const startedAt = performance.now();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "split", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: { code: string; message: string; type: string } };
    expect(body.error).toMatchObject({ code: "no_target_available", type: "server_error" });
    expect(body.error.message).toMatch(/alpha.*beta|beta.*alpha/);
    // The breakers are open now; Ollama's dialect gets its own error shape, as fast.
    const ollama = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "split", messages: [{ role: "user", content: "Hi" }], stream: false }) });
    expect(ollama.status).toBe(503);
    expect(((await ollama.json()) as { error: unknown }).error).toEqual(expect.any(String));
    expect(ollama.headers.get("retry-after")).toMatch(/^\d+$/);
    // Let the circuits close again for the next tests.
    await expect.poll(async () => (await served("split", { temperature: 0.5 }).catch(() => undefined))?.text, { timeout: 3_000, interval: 100 }).toBe(REPLY);
  });
});

describe("router: local-only, weighted rollout, stickiness", () => {
  it("local-only (header or alias) never reaches a remote", async () => {
    const before = alpha.requests() + beta.requests();
    const local = await served("private-chat", { temperature: 0.5 });
    expect(local).toMatchObject({ provider: "local", text: FIXTURE_SENTENCE });
    const refused = await served("alpha-only", {}, { "x-marduk-local-only": "1" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    const stillLocal = await served("default-chat", { temperature: 0.5 }, { "x-marduk-local-only": "true" });
    expect(stillLocal.provider).toBe("local");
    expect(alpha.requests() + beta.requests()).toBe(before);
  });

  it("splits a weighted alias 20/80 within tolerance over 200 requests", async () => {
    const counts = { alpha: 0, beta: 0 };
    for (let i = 0; i < 200; i++) {
      const { provider } = await served("split", { temperature: 0.5, max_tokens: 1 });
      counts[provider as "alpha" | "beta"]++;
    }
    // Expected 40 of 200 (sd ≈ 5.7): ±3.5 sd.
    expect(counts.alpha).toBeGreaterThanOrEqual(20);
    expect(counts.alpha).toBeLessThanOrEqual(60);
    expect(counts.alpha + counts.beta).toBe(200);
  });

  it("keeps one conversation on one target (user, prompt_cache_key or the session header)", async () => {
    for (const [init, headers] of [
      [{ user: "conversation-a" }, {}],
      [{ prompt_cache_key: "conversation-b" } as object, {}],
      [{}, { "x-marduk-session": "conversation-c" }],
    ] as const) {
      const providers = new Set<string | null>();
      for (let i = 0; i < 12; i++) providers.add((await served("split", { temperature: 0.5, max_tokens: 1, ...init }, headers)).provider);
      expect(providers.size).toBe(1);
    }
  });
});

describe("router: response cache", () => {
  it("answers a repeated deterministic request from the cache without reaching the upstream", async () => {
    const before = alpha.requests("chat");
    const first = await served("alpha-only", { temperature: 0, messages: [{ role: "user", content: "cache me" }] });
    const second = await served("alpha-only", { temperature: 0, messages: [{ role: "user", content: "cache me" }] });
    expect(first.cache).toBe("miss");
    expect(second.cache).toBe("hit");
    expect(second.text).toBe(first.text);
    expect(alpha.requests("chat")).toBe(before + 1);
    // The same chunks stream back from the cache.
    const stream = await client.chat.completions.create({ model: "alpha-only", temperature: 0, messages: [{ role: "user", content: "cache me" }], stream: true });
    const pieces: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
    expect(pieces).toEqual(["Hello", " from", " the", " fake", " upstream."]);
    expect(alpha.requests("chat")).toBe(before + 1);
  });

  it("caches a local model's deterministic answer too, and skips the cache when asked", async () => {
    const first = await served("fixture", { seed: 7, messages: [{ role: "user", content: "local cache" }] });
    const second = await served("fixture", { seed: 7, messages: [{ role: "user", content: "local cache" }] });
    expect([first.cache, second.cache]).toEqual(["miss", "hit"]);
    expect(second.text).toBe(FIXTURE_SENTENCE);
    const bypass = await served("fixture", { seed: 7, messages: [{ role: "user", content: "local cache" }], ...({ cache: false } as object) });
    expect(bypass.cache).toBeNull();
  });

  it("never caches a non-deterministic request", async () => {
    const before = alpha.requests("chat");
    const first = await served("alpha-only", { temperature: 0.7, messages: [{ role: "user", content: "random" }] });
    const second = await served("alpha-only", { temperature: 0.7, messages: [{ role: "user", content: "random" }] });
    expect([first.cache, second.cache]).toEqual([null, null]);
    expect(alpha.requests("chat")).toBe(before + 2);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/marduk_cache_lookups_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/marduk_cache_bytes [1-9]/);
  });
});

describe("router: usage and cost", () => {
  it("accounts requests, tokens and cost per provider, and the money saved locally", async () => {
    const summary = server.core.usage.summary();
    const alphaRows = summary.rows.filter((row) => row.provider === "alpha");
    expect(alphaRows.reduce((sum, row) => sum + row.requests, 0)).toBeGreaterThan(0);
    expect(alphaRows.reduce((sum, row) => sum + row.costUsd, 0)).toBeGreaterThan(0);
    // default-chat served locally is priced at beta, the remote that would have served it.
    const local = summary.rows.filter((row) => row.provider === "local" && row.model === "fixture");
    expect(local.reduce((sum, row) => sum + row.savedUsd, 0)).toBeGreaterThan(0);
    expect(summary.localShare).toBeGreaterThan(0);
    expect(summary.localShare).toBeLessThan(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/marduk_routed_requests_total\{provider="alpha",model="alpha-only",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(/marduk_cost_usd_total\{provider="alpha"\} \d/);
    expect(metrics).toMatch(/marduk_saved_usd_total\{provider="local"\} \d/);
    expect(metrics).toMatch(/marduk_provider_circuit_state\{provider="beta"\} [012]/);
  });
});

describe("router: local-only API keys", () => {
  it("a local-only key's requests never reach a remote; another key's do", async () => {
    const guarded = await startTestServer({ apiKeys: ["open-key"], localOnlyApiKeys: ["private-key"], coreOptions: { routing: routing() } });
    try {
      const before = alpha.requests();
      const privateClient = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: "private-key", maxRetries: 0 });
      const refused = await privateClient.chat.completions.create({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }] }).catch((error: unknown) => error);
      expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((refused as Error).message).toContain("must stay on this machine");
      const local = await privateClient.chat.completions.create({ model: "default-chat", temperature: 0.5, messages: [{ role: "user", content: "Hi" }] }).withResponse();
      expect(local.response.headers.get("x-marduk-provider")).toBe("local");
      expect(alpha.requests()).toBe(before);
      const openClient = new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: "open-key", maxRetries: 0 });
      const remote = await openClient.chat.completions.create({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }] }).withResponse();
      expect(remote.response.headers.get("x-marduk-provider")).toBe("alpha");
      const usage = guarded.core.usage.summary();
      expect(usage.rows.some((row) => row.provider === "alpha" && row.keyId !== null)).toBe(true);
    } finally {
      await guarded.dispose();
    }
  });
});

describe("router: local-only keys made in the app", () => {
  it("a key created with localOnly never reaches a remote; one without does", async () => {
    const guarded = await startTestServer({ coreOptions: { routing: routing() } });
    try {
      const local = await guarded.core.contract.server.createKey({ name: "private-script", localOnly: true });
      const open = await guarded.core.contract.server.createKey({ name: "open-script" });
      expect(local.info).toMatchObject({ scope: "inference", localOnly: true });
      expect((await guarded.core.contract.server.listKeys()).map((key) => key.localOnly)).toEqual([true, false]);
      const before = alpha.requests();
      const refused = await new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: local.key, maxRetries: 0 }).chat.completions
        .create({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }] })
        .catch((error: unknown) => error);
      expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect(alpha.requests()).toBe(before);
      const served = await new OpenAI({ baseURL: `${guarded.url}/v1`, apiKey: open.key, maxRetries: 0 }).chat.completions
        .create({ model: "alpha-only", messages: [{ role: "user", content: "Hi" }] })
        .withResponse();
      expect(served.response.headers.get("x-marduk-provider")).toBe("alpha");
    } finally {
      await guarded.dispose();
    }
  });
});
