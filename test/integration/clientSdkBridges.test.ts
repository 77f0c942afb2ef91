/**
 * The SDK's memory and task bridges against the real server (not a fake): `rerank` on the
 * generated reranker model, and `submitBatch` / `waitForBatch` over the server's Batch API.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaCppClient } from "../../src/client/index.js";
import { FIXTURE_SENTENCE, getRerankerModelPath, rerankerScoreOf } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: LlamaCppClient;

beforeAll(async () => {
  server = await startTestServer({ loadDefaults: { contextSize: 512, parallel: 2 } });
  copyFileSync(await getRerankerModelPath(), path.join(server.modelsDir, "reranker.gguf"));
  client = new LlamaCppClient({ baseUrl: server.url, retry: { maxRetries: 0 } });
});
afterAll(async () => {
  await client?.cleanup();
  await server?.dispose();
});

describe("the client SDK against the real server", () => {
  it("reranks documents with a reranker model, best first", async () => {
    const documents = ["the cat", "a dog", "quick fox", "nothing here"];
    const results = await client.rerank("which animal?", documents, { model: "reranker" });
    expect(results.map((result) => documents[result.index])).toEqual(["quick fox", "a dog", "nothing here", "the cat"]);
    expect(results[0]!.relevanceScore).toBeCloseTo(rerankerScoreOf("fox"), 4);
    expect(await client.rerank("which animal?", documents, { model: "reranker", topN: 1 })).toHaveLength(1);
  });

  it("submits a batch and waits for its results, every line answered once and exactly", async () => {
    const lines = Array.from({ length: 5 }, (_, index) => ({
      custom_id: `line-${index}`,
      method: "POST" as const,
      url: "/v1/chat/completions",
      body: { model: "fixture", messages: [{ role: "user", content: `Question ${index}` }], temperature: 0 },
    }));
    const batch = await client.submitBatch(lines);
    const progress: number[] = [];
    const { batch: done, results, errors } = await client.waitForBatch(batch.id, {
      pollIntervalMs: 100,
      onProgress: (current) => progress.push(current.request_counts?.completed ?? 0),
    });
    expect(done.status).toBe("completed");
    expect(errors).toEqual([]);
    expect(results.map((line) => line.custom_id).sort()).toEqual(lines.map((line) => line.custom_id).sort());
    for (const line of results) {
      const body = line.response?.body as { choices: { message: { content: string } }[] };
      expect(line.response?.status_code).toBe(200);
      expect(body.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
    }
    expect(progress.length).toBeGreaterThan(0);
  });
});
