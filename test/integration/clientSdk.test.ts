/**
 * The client SDK (`src/client`, published as `marduk-local/client`) against a real server with
 * the deterministic fixture model, plus a tiny fake server for what the fixture cannot do
 * deterministically (a 429 with Retry-After, the rerank request shape).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { FastifyRequest } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LlamaCppClient,
  type MardukClientError,
  ModelNotFoundError,
  QueueFullError,
  RequestAbortedError,
  runWithTools,
  type AgentStep,
  type AIStreamEvent,
} from "../../src/client/index.js";
import { routingHintsOf } from "../../src/core/api/routingHeaders.js";
import { routingHeadersOf } from "../../src/client/routingHeaders.js";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: LlamaCppClient;

beforeAll(async () => {
  server = await startTestServer();
  client = new LlamaCppClient({ baseUrl: server.url, retry: { maxRetries: 0 } });
  await client.initialize({ model: "fixture" });
});
afterAll(async () => {
  await client?.cleanup();
  await server?.dispose();
});

const question = [{ role: "user" as const, content: "Hello" }];
const weatherTool = { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { enum: ["Paris"] } }, required: ["city"] } };

describe("LlamaCppClient against the server", () => {
  it("initialize loads the model and refuses an unknown one without pull", async () => {
    const health = await client.health();
    expect(health.status).toBe("ok");
    expect(health.models?.map((model) => model.id)).toContain("fixture");
    const fresh = new LlamaCppClient({ baseUrl: `${server.url}/v1`, retry: { maxRetries: 0 } });
    await expect(fresh.initialize({ model: "no-such-model" })).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it("generateResponse returns the fixture's text, usage and who served it", async () => {
    const response = await client.generateResponse({ messages: question, temperature: 0, maxTokens: 40 });
    expect(response.text).toBe(FIXTURE_SENTENCE);
    expect(response.finishReason).toBe("stop");
    expect(response.usage?.completionTokens).toBeGreaterThan(0);
    expect(response.provider).toBe("local");
  });

  it("streamResponse deltas join to the text, then one done event", async () => {
    const events: AIStreamEvent[] = [];
    for await (const event of client.streamResponse({ messages: question, temperature: 0, maxTokens: 40 })) events.push(event);
    const text = events.flatMap((event) => (event.type === "text" ? [event.delta] : [])).join("");
    expect(text).toBe(FIXTURE_SENTENCE);
    expect(events.filter((event) => event.type === "text").length).toBeGreaterThan(1);
    const done = events.at(-1);
    expect(done?.type).toBe("done");
    expect(done?.type === "done" && done.response.text).toBe(FIXTURE_SENTENCE);
  });

  it("an AbortSignal mid-stream ends it with a RequestAbortedError", async () => {
    const controller = new AbortController();
    const received: string[] = [];
    const consume = async () => {
      for await (const event of client.streamResponse({ messages: question, temperature: 0, maxTokens: 40, signal: controller.signal })) {
        if (event.type === "text") {
          received.push(event.delta);
          controller.abort();
        }
      }
    };
    const error = await consume().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect((error as Error).name).toBe("AbortError");
    expect(received.join("")).not.toBe(FIXTURE_SENTENCE);
  });

  it("an unknown model is a ModelNotFoundError with the server's code", async () => {
    const error = await client.generateResponse({ model: "no-such-model", messages: question }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as MardukClientError).code).toBe("model_not_found");
    expect((error as MardukClientError).status).toBe(404);
  });

  it("embed in chunks of batchSize gives the same vectors as one by one", async () => {
    const texts = ["The quick brown fox", "lazy dog", "jumps over", "the", "quick fox again"];
    const batched = await client.embed(texts, { batchSize: 2 });
    expect(batched).toHaveLength(texts.length);
    for (const [index, text] of texts.entries()) {
      const [single] = await client.embed([text]);
      expect(batched[index]).toHaveLength(single!.length);
      single!.forEach((value, at) => expect(batched[index]![at]).toBeCloseTo(value, 5));
    }
  });

  it("the SDK's routing headers carry values the server reads as the same hints", () => {
    // The names are one list (src/shared/routingHeaders.ts); the values ("1", "off") are each side's own.
    const request = { headers: routingHeadersOf({ localOnly: true, session: "s", cache: false }) } as unknown as FastifyRequest;
    expect(routingHintsOf(request)).toEqual({ localOnly: true, stickyKey: "s", cache: false });
  });
});

describe("runWithTools (the agent loop)", () => {
  it("runs the forced tool call, feeds its result back and reaches an answer", async () => {
    const steps: AgentStep[] = [];
    const calls: unknown[] = [];
    const result = await runWithTools(
      client,
      { messages: [{ role: "user", content: "Weather in Paris?" }], toolChoice: "required", temperature: 0, maxTokens: 200 },
      [{ ...weatherTool, handler: (args: { city: string }) => (calls.push(args), { city: args.city, celsius: 21 }) }],
      { maxSteps: 4, onStep: (step) => steps.push(step) },
    );
    expect(calls).toEqual([{ city: "Paris" }]);
    expect(result.stoppedBy).toBe("answer");
    expect(steps).toHaveLength(2);
    expect(steps[0]!.toolResults[0]).toMatchObject({ content: JSON.stringify({ city: "Paris", celsius: 21 }) });
    expect(result.messages.filter((message) => message.role === "tool")).toEqual([{ role: "tool", toolCallId: steps[0]!.response.toolCalls[0]!.id, content: '{"city":"Paris","celsius":21}' }]);
    expect(result.response.toolCalls).toEqual([]);
    expect(result.response.text.length).toBeGreaterThan(0);
  });

  it("a throwing handler becomes a tool result {error} fed back to the model, never a crash", async () => {
    const result = await runWithTools(
      client,
      { messages: [{ role: "user", content: "Weather in Paris?" }], toolChoice: { name: "get_weather" }, temperature: 0, maxTokens: 200 },
      [
        {
          ...weatherTool,
          handler: () => {
            throw new Error("weather service down");
          },
        },
      ],
      { maxSteps: 3 },
    );
    expect(result.steps[0]!.toolResults[0]).toMatchObject({ error: "weather service down", content: '{"error":"weather service down"}' });
    expect(result.messages.some((message) => message.role === "tool" && message.content === '{"error":"weather service down"}')).toBe(true);
    expect(result.stoppedBy).toBe("answer");
  });

  it("a call cut by maxTokens (arguments not JSON) is answered with an error and the loop goes on", async () => {
    let ran = false;
    const result = await runWithTools(
      client,
      // 60 tokens cut the fixture's forced call in its arguments.
      { messages: [{ role: "user", content: "Weather in Paris?" }], toolChoice: "required", temperature: 0, maxTokens: 60 },
      [{ ...weatherTool, handler: () => (ran = true) }],
      { maxSteps: 3 },
    );
    expect(result.steps[0]!.response.finishReason).toBe("length");
    expect(result.steps[0]!.toolResults[0]!.error).toMatch(/not valid JSON/);
    expect(ran).toBe(false);
    expect(result.stoppedBy).toBe("answer");
  });

  it("stops at maxSteps", async () => {
    const result = await client.runWithTools({ messages: [{ role: "user", content: "Weather?" }], toolChoice: "required", temperature: 0, maxTokens: 200 }, [{ ...weatherTool, handler: () => "sunny" }], {
      maxSteps: 1,
    });
    expect(result.stoppedBy).toBe("max_steps");
    expect(result.steps).toHaveLength(1);
  });
});

describe("against a fake server", () => {
  let fake: Server;
  let fakeUrl: string;
  const seen: { path: string; body: unknown }[] = [];
  let chatAnswers: ("busy" | "ok")[] = [];
  const batchStates = ["in_progress"];

  const readBody = async (request: IncomingMessage) => {
    let text = "";
    for await (const chunk of request) text += String(chunk);
    return request.headers["content-type"]?.startsWith("application/json") && text ? (JSON.parse(text) as unknown) : text;
  };

  beforeAll(async () => {
    fake = createServer(async (request, response) => {
      const body = await readBody(request);
      seen.push({ path: request.url ?? "", body });
      response.setHeader("content-type", "application/json");
      if (request.url === "/v1/chat/completions") {
        if (chatAnswers.shift() === "busy") {
          response.writeHead(429, { "retry-after": "1" });
          return response.end(JSON.stringify({ error: { message: "The queue is full", type: "rate_limit_error", param: null, code: "queue_full" } }));
        }
        return response.end(
          JSON.stringify({
            id: "c1",
            object: "chat.completion",
            created: 0,
            model: "fake",
            choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "ok" } }],
          }),
        );
      }
      const batch = (status: string) => ({
        id: "batch_1",
        object: "batch",
        endpoint: "/v1/chat/completions",
        input_file_id: "file_in",
        completion_window: "24h",
        status,
        created_at: 0,
        request_counts: { total: 1, completed: status === "completed" ? 1 : 0, failed: 0 },
        ...(status === "completed" ? { output_file_id: "file_out" } : {}),
      });
      if (request.url === "/v1/files" && request.method === "POST") {
        return response.end(JSON.stringify({ id: "file_in", object: "file", bytes: 1, created_at: 0, filename: "batch.jsonl", purpose: "batch", status: "processed" }));
      }
      if (request.url === "/v1/batches" && request.method === "POST") return response.end(JSON.stringify(batch("validating")));
      if (request.url === "/v1/batches/batch_1") return response.end(JSON.stringify(batch(batchStates.shift() ?? "completed")));
      if (request.url === "/v1/files/file_out/content") {
        response.setHeader("content-type", "application/jsonl");
        return response.end(JSON.stringify({ id: "r1", custom_id: "a", response: { status_code: 200, body: { ok: true } }, error: null }) + "\n");
      }
      if (request.url === "/v1/rerank") {
        return response.end(JSON.stringify({ results: [{ index: 1, relevance_score: 0.2 }, { index: 0, relevance_score: 0.9 }] }));
      }
      response.writeHead(404);
      response.end(JSON.stringify({ error: { message: "not found", type: "invalid_request_error", param: null, code: null } }));
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())));

  it("a 429 is retried after its Retry-After", async () => {
    chatAnswers = ["busy", "ok"];
    seen.length = 0;
    const retrying = new LlamaCppClient({ baseUrl: fakeUrl, model: "fake", retry: { maxRetries: 2 } });
    const response = await retrying.generateResponse({ messages: question });
    expect(response.text).toBe("ok");
    expect(seen.filter((request) => request.path === "/v1/chat/completions")).toHaveLength(2);
  });

  it("without retries a 429 is a QueueFullError carrying code and Retry-After", async () => {
    chatAnswers = ["busy"];
    const once = new LlamaCppClient({ baseUrl: fakeUrl, model: "fake", retry: { maxRetries: 0 } });
    const error = await once.generateResponse({ messages: question }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ code: "queue_full", status: 429, retryAfterSeconds: 1 });
  });

  it("rerank sends {model, query, documents, top_n} and orders by relevance", async () => {
    seen.length = 0;
    const reranker = new LlamaCppClient({ baseUrl: fakeUrl, model: "fake" });
    const results = await reranker.rerank("fox", ["a fox", "a dog"], { topN: 2 });
    expect(seen[0]).toEqual({ path: "/v1/rerank", body: { model: "fake", query: "fox", documents: ["a fox", "a dog"], top_n: 2 } });
    expect(results).toEqual([{ index: 0, relevanceScore: 0.9 }, { index: 1, relevanceScore: 0.2 }]);
  });

  it("submitBatch uploads a JSONL file with purpose batch, waitForBatch polls to the results", async () => {
    seen.length = 0;
    const batcher = new LlamaCppClient({ baseUrl: fakeUrl, model: "fake" });
    const line = { custom_id: "a", method: "POST" as const, url: "/v1/chat/completions", body: { model: "fake", messages: question } };
    const submitted = await batcher.submitBatch([line]);
    expect(submitted.id).toBe("batch_1");
    const upload = seen.find((request) => request.path === "/v1/files");
    expect(upload?.body).toContain('name="purpose"');
    expect(upload?.body).toContain(JSON.stringify(line));
    expect(seen.find((request) => request.path === "/v1/batches")?.body).toEqual({ input_file_id: "file_in", endpoint: "/v1/chat/completions", completion_window: "24h" });
    const states: string[] = [];
    const done = await batcher.waitForBatch("batch_1", { pollIntervalMs: 1, onProgress: (batch) => states.push(batch.status) });
    expect(states).toEqual(["in_progress", "completed"]);
    expect(done.results).toEqual([{ id: "r1", custom_id: "a", response: { status_code: 200, body: { ok: true } }, error: null }]);
    expect(done.errors).toEqual([]);
  });
});
