import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

type Health = { models: Array<{ id: string; busySequences: number; waitingRequests: number }> };

async function health(server: TestServer): Promise<Health> {
  return (await (await fetch(`${server.url}/health`)).json()) as Health;
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A request that generates for a long time (the end token is ignored). */
const longRequest = { model: "fixture", messages: [{ role: "user", content: "Hi" }], ignore_eos: true, max_tokens: 1900, stream: true };

describe("one sequence, a queue of one", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ loadDefaults: { parallel: 1, maxQueue: 1 } });
    await server.core.residency.load("fixture");
  });
  afterAll(() => server?.dispose());

  it("a client that disconnects frees its sequence at once", async () => {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(longRequest),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    expect((await health(server)).models[0]!.busySequences).toBe(1);
    controller.abort();
    await waitFor(async () => (await health(server)).models[0]!.busySequences === 0);
    // The freed sequence serves the next request normally.
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hi" }] });
    expect(completion.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    const first = new AbortController();
    const second = new AbortController();
    const post = (signal: AbortSignal) =>
      fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(longRequest), signal });
    const running = await post(first.signal);
    expect(running.status).toBe(200);
    const queued = post(second.signal).catch(() => undefined);
    await waitFor(async () => (await health(server)).models[0]!.waitingRequests === 1);
    const refused = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...longRequest, stream: false }),
    });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ error: { type: "rate_limit_error", code: "queue_full" } });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "x", maxRetries: 0 });
    const error = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hi" }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    first.abort();
    second.abort();
    await queued;
    await waitFor(async () => {
      const model = (await health(server)).models[0]!;
      return model.busySequences === 0 && model.waitingRequests === 0;
    });
  });
});

describe("a short queue timeout", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ loadDefaults: { parallel: 1, queueTimeoutMs: 300 } });
    await server.core.residency.load("fixture");
  });
  afterAll(() => server?.dispose());

  it("answers 503 queue_timeout with Retry-After when no sequence frees in time", async () => {
    const running = new AbortController();
    const first = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(longRequest), signal: running.signal });
    expect(first.status).toBe(200);
    const waited = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: [{ role: "user", content: "Hi" }] }),
    });
    expect(waited.status).toBe(503);
    expect(waited.headers.get("retry-after")).toBe("1");
    expect(((await waited.json()) as { error: { code: string } }).error.code).toBe("queue_timeout");
    running.abort();
  });
});
