import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: OpenAI;
beforeAll(async () => {
  server = await startTestServer({ apiKeys: ["sk-observed"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "sk-observed", maxRetries: 0 });
  await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hi" }] });
  const stream = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hi" }], stream: true });
  for await (const _ of stream) {
    // drain
  }
  await client.chat.completions.create({ model: "missing", messages: [{ role: "user", content: "Hi" }] }).catch(() => undefined);
});
afterAll(() => server?.dispose());

describe("observability", () => {
  it("GET /metrics exposes Prometheus metrics", async () => {
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer sk-observed" } });
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    expect(text).toMatch(/marduk_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} 2/);
    expect(text).toMatch(/marduk_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="404"\} 1/);
    expect(text).toMatch(/marduk_generated_tokens_total\{model="fixture"\} 20/);
    expect(text).toMatch(/marduk_prompt_tokens_total\{model="fixture"\} \d+/);
    expect(text).toMatch(/marduk_time_to_first_token_seconds_count\{model="fixture"\} 2/);
    expect(text).toMatch(/marduk_decode_tokens_per_second_count\{model="fixture"\} 2/);
    expect(text).toMatch(/marduk_queue_depth\{model="fixture"\} 0/);
    expect(text).toMatch(/marduk_active_sequences\{model="fixture"\} 0/);
    expect(text).toMatch(/marduk_model_load_seconds_count\{model="fixture"\} 1/);
    expect(text).toMatch(/marduk_process_resident_memory_bytes \d+/);
  });

  it("keeps an audit log in SQLite without prompt text by default", () => {
    const entries = server.core.auditLog.recent(10);
    const chats = entries.filter((entry) => entry.route === "/v1/chat/completions");
    expect(chats).toHaveLength(3);
    const ok = chats.filter((entry) => entry.status === 200);
    expect(ok).toHaveLength(2);
    for (const entry of ok) {
      expect(entry).toMatchObject({ method: "POST", model: "fixture", completionTokens: 10, clientAddress: "127.0.0.1" });
      expect(entry.promptTokens).toBeGreaterThan(0);
      expect(entry.keyId).toMatch(/^[0-9a-f]{12}$/);
      expect(entry.keyId).not.toContain("observed");
      expect(entry.prompt).toBeUndefined();
      expect(entry.durationMs).toBeGreaterThan(0);
    }
    expect(chats.find((entry) => entry.status === 404)).toBeDefined();
  });

  it("returns a request id on every response", async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("prompt logging when turned on", () => {
  it("stores the prompt text", async () => {
    const logged = await startTestServer({ auditPrompts: true });
    try {
      const openai = new OpenAI({ baseURL: `${logged.url}/v1`, apiKey: "x", maxRetries: 0 });
      await openai.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Remember me" }] });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [entry] = logged.core.auditLog.recent(1);
      expect(entry!.prompt).toContain("Remember me");
    } finally {
      await logged.dispose();
    }
  });
});
