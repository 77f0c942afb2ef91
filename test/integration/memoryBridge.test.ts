import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getRerankerModelPath, rerankerScoreOf } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/** A real trained llama (../shared/models/README.md), for embeddings that are not one-hot. */
const STORIES_MODEL = path.resolve(process.cwd(), "../shared/models/stories260K.gguf");
const hasStories = existsSync(STORIES_MODEL);

let dataDir: string;
let server: TestServer;

async function startServer(): Promise<TestServer> {
  const started = await startTestServer({ coreOptions: { dataDir } });
  copyFileSync(await getRerankerModelPath(), path.join(started.modelsDir, "reranker.gguf"));
  if (hasStories) copyFileSync(STORIES_MODEL, path.join(started.modelsDir, "stories.gguf"));
  return started;
}

// The answers' shapes are what the tests check: read them loosely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function post(route: string, body: unknown, method = "POST"): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${server.url}${route}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

/** A counter's value for a model in /metrics (0 before its first sample). */
async function metric(name: string, model: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((entry) => entry.startsWith(`${name}{model="${model}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "marduk-memory-bridge-"));
  server = await startServer();
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("embeddings of many inputs", () => {
  const texts = Array.from({ length: 12 }, (_, index) => `text number ${index} about the ${["fox", "dog", "cat"][index % 3]}`);

  for (const model of ["fixture", ...(hasStories ? ["stories"] : [])]) {
    it(`equal one-by-one embeddings, evaluated together (${model})`, async () => {
      const evaluationsBefore = await metric("marduk_embedding_evaluations_total", model);
      const together = await post("/v1/embeddings", { model, input: texts });
      expect(together.status).toBe(200);
      // The twelve short texts share one llama.cpp evaluation (native/batchEmbedding.cc).
      expect((await metric("marduk_embedding_evaluations_total", model)) - evaluationsBefore).toBe(1);
      expect(await metric("marduk_embedding_inputs_total", model)).toBe(texts.length);
      for (const [index, text] of texts.entries()) {
        const alone = await post("/v1/embeddings", { model, input: text });
        const expected: number[] = alone.json.data[0].embedding;
        const actual: number[] = together.json.data[index].embedding;
        expect(actual.length).toBe(expected.length);
        expect(Math.max(...actual.map((value, i) => Math.abs(value - expected[i]!)))).toBeLessThanOrEqual(1e-6);
      }
      expect(await metric("marduk_embedding_evaluations_total", model)).toBe(evaluationsBefore + 1 + texts.length);
    });
  }
});

describe("POST /v1/rerank", () => {
  const documents = ["the cat", "a dog", "quick fox", "nothing here"];

  it("ranks documents by the reranker's score, highest first, in one evaluation", async () => {
    const evaluationsBefore = await metric("marduk_rerank_evaluations_total", "reranker");
    const { status, json } = await post("/v1/rerank", { model: "reranker", query: "which animal?", documents, return_documents: true });
    expect(status).toBe(200);
    expect((await metric("marduk_rerank_evaluations_total", "reranker")) - evaluationsBefore).toBe(1);
    expect(await metric("marduk_rerank_documents_total", "reranker")).toBe(documents.length);
    expect(json).toMatchObject({ model: "reranker", object: "list" });
    expect(json.results.map((result: { index: number }) => result.index)).toEqual([2, 1, 3, 0]);
    expect(json.results[0].relevance_score).toBeCloseTo(rerankerScoreOf("fox"), 4);
    expect(json.results[1].relevance_score).toBeCloseTo(rerankerScoreOf("dog"), 4);
    expect(json.results[3].relevance_score).toBeCloseTo(rerankerScoreOf("cat"), 4);
    expect(json.results[0].document).toEqual({ text: "quick fox" });
    expect(json.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("takes {text} documents and top_n on llama-server's other paths", async () => {
    for (const route of ["/rerank", "/v1/reranking"]) {
      const { status, json } = await post(route, { model: "reranker", query: "q", documents: documents.map((text) => ({ text })), top_n: 2 });
      expect(status).toBe(200);
      expect(json.results).toHaveLength(2);
      expect(json.results[0].index).toBe(2);
      expect(json.results[0].document).toBeUndefined();
    }
  });

  it("refuses a model that is not a reranker with a 400 on 'model'", async () => {
    const { status, json } = await post("/v1/rerank", { model: "fixture", query: "q", documents: ["a"] });
    expect(status).toBe(400);
    expect(json.error).toMatchObject({ code: "invalid_value", param: "model", message: "'fixture' is not a reranking model" });
  });

  it("refuses a bad body with a 400", async () => {
    const { status, json } = await post("/v1/rerank", { model: "reranker", query: "q", documents: [] });
    expect(status).toBe(400);
    expect(json.error.param).toBe("documents");
  });
});

describe("the memory API", () => {
  // The fixture's embedding is its last token's one-hot state: texts ending in different
  // characters are orthogonal, so the nearest item to a query is the one ending as it does.
  const items = [
    { id: "one", text: "alpha x", metadata: { topic: "a" } },
    { id: "two", text: "beta y", metadata: { topic: "b" } },
    { id: "three", text: "gamma z", metadata: { topic: "a" } },
  ];

  it("creates a collection, adds items and finds the nearest", async () => {
    const created = await post("/v1/memory/collections", { name: "agent-notes", model: "fixture" });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ object: "memory.collection", name: "agent-notes", model: "fixture", items: 0 });
    const added = await post("/v1/memory/collections/agent-notes/items", { items });
    expect(added.status).toBe(200);
    expect(added.json.data.map((item: { id: string }) => item.id)).toEqual(["one", "two", "three"]);
    const found = await post("/v1/memory/collections/agent-notes/search", { query: "what about y", k: 1 });
    expect(found.status).toBe(200);
    expect(found.json.data[0]).toMatchObject({ id: "two", text: "beta y", metadata: { topic: "b" } });
    expect(found.json.data[0].distance).toBeCloseTo(0, 4);
    const filtered = await post("/v1/memory/collections/agent-notes/search", { query: "what about y", k: 5, filter: { topic: "a" } });
    expect(filtered.json.data.map((item: { id: string }) => item.id).sort()).toEqual(["one", "three"]);
    const listed = await fetch(`${server.url}/v1/memory/collections`).then((response) => response.json() as Promise<Json>);
    expect(listed.data).toEqual([expect.objectContaining({ name: "agent-notes", items: 3, dimensions: expect.any(Number) })]);
  });

  it("deletes items, and answers 404 and 400 clearly", async () => {
    const deleted = await post("/v1/memory/collections/agent-notes/items", { ids: ["three", "nope"] }, "DELETE");
    expect(deleted.json).toMatchObject({ deleted: 1 });
    const found = await post("/v1/memory/collections/agent-notes/search", { query: "z", k: 5 });
    expect(found.json.data.map((item: { id: string }) => item.id)).not.toContain("three");
    expect((await post("/v1/memory/collections/missing/search", { query: "z" })).status).toBe(404);
    expect((await post("/v1/memory/collections", { name: "bad name", model: "fixture" })).json.error.param).toBe("name");
    expect((await post("/v1/memory/collections", { name: "agent-notes", model: "fixture" })).status).toBe(400);
    expect((await post("/v1/memory/collections/agent-notes/search", { query: "z", k: 101 })).json.error.param).toBe("k");
  });

  it("keeps collections across a restart on the same data dir", async () => {
    await server.dispose();
    server = await startServer();
    const found = await post("/v1/memory/collections/agent-notes/search", { query: "what about y", k: 1 });
    expect(found.status).toBe(200);
    expect(found.json.data[0]).toMatchObject({ id: "two", text: "beta y" });
    const removed = await post("/v1/memory/collections/agent-notes", {}, "DELETE");
    expect(removed.status).toBe(200);
    expect((await fetch(`${server.url}/v1/memory/collections`).then((response) => response.json() as Promise<Json>)).data).toEqual([]);
  }, 60_000);
});
