import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.dispose());

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** Reads an NDJSON stream into objects. */
async function readNdjson(response: Response): Promise<Array<Record<string, unknown>>> {
  const text = await response.text();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("Ollama-compatible API", () => {
  it("GET /api/version and /api/tags", async () => {
    const version = (await (await fetch(`${server.url}/api/version`)).json()) as { version: string };
    expect(version.version).toMatch(/^\d+\.\d+\.\d+$/);
    const tags = (await (await fetch(`${server.url}/api/tags`)).json()) as { models: Array<{ name: string; size: number; details: { format: string; family: string } }> };
    const fixture = tags.models.find((model) => model.name === "fixture:latest");
    expect(fixture).toMatchObject({ details: { format: "gguf", family: "llama" } });
    expect(fixture!.size).toBeGreaterThan(1000);
  });

  it("POST /api/chat streams NDJSON and ends with statistics", async () => {
    const response = await post("/api/chat", { model: "fixture:latest", messages: [{ role: "user", content: "Hi" }], options: { temperature: 0, seed: 1 } });
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = await readNdjson(response);
    const last = lines.at(-1)!;
    const text = lines.map((line) => (line.message as { content: string }).content).join("");
    expect(text).toBe(FIXTURE_SENTENCE);
    expect(lines.slice(0, -1).every((line) => line.done === false)).toBe(true);
    expect(last).toMatchObject({ model: "fixture:latest", done: true, done_reason: "stop", eval_count: 10 });
    expect(last.prompt_eval_count).toEqual(expect.any(Number));
    expect(last.total_duration).toEqual(expect.any(Number));
  });

  it("POST /api/chat without streaming, with num_predict", async () => {
    const response = await post("/api/chat", { model: "fixture", messages: [{ role: "user", content: "Hi" }], stream: false, options: { num_predict: 4 } });
    const body = (await response.json()) as { message: { role: string; content: string }; done: boolean; done_reason: string };
    expect(body).toMatchObject({ message: { role: "assistant", content: "The quick brown fox" }, done: true, done_reason: "length" });
  });

  it("POST /api/chat with format: a JSON schema", async () => {
    const format = { type: "object", properties: { animal: { enum: ["fox", "dog"] } }, required: ["animal"] };
    const response = await post("/api/chat", { model: "fixture", messages: [{ role: "user", content: "Which animal?" }], stream: false, format, options: { num_predict: 40 } });
    const body = (await response.json()) as { message: { content: string } };
    expect(["fox", "dog"]).toContain((JSON.parse(body.message.content) as { animal: string }).animal);
  });

  it("POST /api/generate with the template and raw", async () => {
    const templated = (await (await post("/api/generate", { model: "fixture", prompt: "Hi", stream: false })).json()) as { response: string; done: boolean };
    expect(templated).toMatchObject({ response: FIXTURE_SENTENCE, done: true });
    const raw = await readNdjson(await post("/api/generate", { model: "fixture", prompt: "Once upon a time", raw: true, options: { stop: [" fox"] } }));
    expect(raw.map((line) => line.response).join("").trim()).toBe("The quick brown");
  });

  it("POST /api/generate with an empty prompt loads the model", async () => {
    const body = (await (await post("/api/generate", { model: "fixture", keep_alive: "10m" })).json()) as { done: boolean; done_reason: string };
    expect(body).toMatchObject({ done: true, done_reason: "load" });
  });

  it("GET /api/ps and POST /api/show", async () => {
    const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: Array<{ name: string; context_length: number }> };
    expect(ps.models).toEqual([expect.objectContaining({ name: "fixture:latest", context_length: 2048 })]);
    const show = (await (await post("/api/show", { model: "fixture" })).json()) as { template: string; details: { family: string }; model_info: Record<string, unknown> };
    expect(show.template).toContain("<|im_start|>");
    expect(show.details.family).toBe("llama");
    expect(show.model_info["general.architecture"]).toBe("llama");
  });

  it("refuses a num_ctx beyond 2^20 tokens with a 400 naming it (nothing is loaded)", async () => {
    const response = await post("/api/chat", { model: "fixture", messages: [{ role: "user", content: "Hi" }], stream: false, options: { num_ctx: 2 ** 30 } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/options\.num_ctx/);
  });

  it("keep_alive 0 unloads the model once the request is done", async () => {
    const body = (await (await post("/api/generate", { model: "fixture", keep_alive: 0 })).json()) as { done_reason: string };
    expect(body.done_reason).toBe("unload");
    let ps = { models: [{}] };
    for (let attempt = 0; attempt < 50 && ps.models.length > 0; attempt++) {
      ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: object[] };
      if (ps.models.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ps.models).toEqual([]);
    // The next request loads it again just in time, with the context size it asks for.
    const reply = (await (await post("/api/chat", { model: "fixture", messages: [{ role: "user", content: "Hi" }], stream: false, keep_alive: "5m", options: { num_ctx: 512 } })).json()) as { message: { content: string } };
    expect(reply.message.content).toBe(FIXTURE_SENTENCE);
    const loaded = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string; context_length: number }> };
    expect(loaded.models[0]!.name).toBe("fixture:latest");
    expect(loaded.models[0]!.context_length).toBe(512);
    const expiresIn = Date.parse(loaded.models[0]!.expires_at) - Date.now();
    expect(expiresIn).toBeGreaterThan(4 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(5 * 60_000);
  });

  it("POST /api/embed", async () => {
    const body = (await (await post("/api/embed", { model: "fixture", input: ["The quick brown fox", "dog"] })).json()) as { embeddings: number[][]; prompt_eval_count: number };
    expect(body.embeddings).toHaveLength(2);
    expect(body.embeddings[0]!.length).toBeGreaterThan(0);
    expect(body.prompt_eval_count).toBeGreaterThan(0);
  });

  it("errors in Ollama's shape", async () => {
    const missing = await post("/api/chat", { model: "nope", messages: [{ role: "user", content: "Hi" }] });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: expect.stringContaining("nope") });
    const bad = await post("/api/generate", { model: "fixture", prompt: "x", options: { temperature: 9 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.stringContaining("temperature") });
    const keepAlive = await post("/api/generate", { model: "fixture", prompt: "x", keep_alive: "soon" });
    expect(keepAlive.status).toBe(400);
  });
});
