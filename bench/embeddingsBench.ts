/**
 * Embeddings bench (`npx tsx bench/embeddingsBench.ts`): N short inputs embedded three ways,
 * side by side in one run, in-process (no HTTP, no model host process):
 * - "batched": one `embed` call, texts packed into shared llama.cpp evaluations (BatchEmbedder);
 * - "single calls": N `embed` calls of one text each (the same path, nothing to pack);
 * - "node-llama-cpp": its LlamaEmbeddingContext, one text at a time (how embeddings ran before).
 * With the fixture model and, when present, ../shared/models/stories260K.gguf. Then reranking
 * with the reranker fixture: one `rerank` call (batched) against node-llama-cpp's `rankAll`.
 * Writes bench-results/embeddings.json.
 *
 * Options (env): BENCH_EMBED_INPUTS (default "64,256"), BENCH_REPEATS (default 3), BENCH_THREADS (default 2).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import { getFixtureModelPath, getRerankerModelPath } from "../test/fixtures/gguf/index.js";
import { median } from "./benchClient.js";

const inputCounts = (process.env.BENCH_EMBED_INPUTS ?? "64,256").split(",").map(Number);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const threads = Number(process.env.BENCH_THREADS ?? 2);
const stories = path.resolve("../shared/models/stories260K.gguf");

const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-embed-bench-"));
const modelsDir = path.join(dir, "models");
mkdirSync(modelsDir, { recursive: true });
copyFileSync(await getFixtureModelPath(), path.join(modelsDir, "fixture.gguf"));
copyFileSync(await getRerankerModelPath(), path.join(modelsDir, "reranker.gguf"));
const models = ["fixture"];
if (existsSync(stories)) {
  copyFileSync(stories, path.join(modelsDir, "stories.gguf"));
  models.push("stories");
}
const core = createCore({ modelsDir, dataDir: dir, backend: "cpu", threads, logger: createSilentLogger(), modelHost: "in-process", keepAliveMs: -1 });

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
const results = [];
const rerankResults = [];
try {
  for (const id of models) {
    const model = await core.engine.loadModel(id, { parallel: 1 });
    const reference = await model.model.createEmbeddingContext({ contextSize: model.contextSize, threads });
    try {
      await model.embed(["warm up"]);
      await reference.getEmbeddingFor("warm up");
      for (const count of inputCounts) {
        const inputs = Array.from({ length: count }, (_, index) => `Once upon a time, input number ${index} told a story about a little fox and a lazy dog.`);
        const batched: number[] = [];
        const single: number[] = [];
        const before: number[] = [];
        let evaluations = 0;
        for (let repeat = 0; repeat < repeats; repeat++) {
          batched.push(await timed(async () => (evaluations = (await model.embed(inputs)).evaluations ?? 0)));
          single.push(await timed(async () => { for (const input of inputs) await model.embed([input]); }));
          before.push(await timed(async () => { for (const input of inputs) await reference.getEmbeddingFor(input); }));
        }
        const [batchedMs, singleMs, beforeMs] = [median(batched), median(single), median(before)];
        results.push({
          model: id,
          inputs: count,
          evaluations,
          batchedPerSecond: rate(count, batchedMs),
          singleCallsPerSecond: rate(count, singleMs),
          nodeLlamaCppPerSecond: rate(count, beforeMs),
          speedup: Math.round((beforeMs / batchedMs) * 100) / 100,
        });
      }
    } finally {
      await reference.dispose();
      await model.dispose();
    }
  }
  const reranker = await core.engine.loadModel("reranker", { parallel: 1 });
  const reference = await reranker.model.createRankingContext({ contextSize: reranker.contextSize, threads });
  try {
    await reranker.rerank("warm", ["up"]);
    for (const count of inputCounts) {
      const documents = Array.from({ length: count }, (_, index) => `document ${index} about the ${["fox", "dog", "cat"][index % 3]}`);
      const batched: number[] = [];
      const before: number[] = [];
      let evaluations = 0;
      for (let repeat = 0; repeat < repeats; repeat++) {
        batched.push(await timed(async () => (evaluations = (await reranker.rerank("which animal?", documents)).evaluations ?? 0)));
        before.push(await timed(() => reference.rankAll("which animal?", documents)));
      }
      const [batchedMs, beforeMs] = [median(batched), median(before)];
      rerankResults.push({ model: "reranker", documents: count, evaluations, batchedPerSecond: rate(count, batchedMs), nodeLlamaCppPerSecond: rate(count, beforeMs), speedup: Math.round((beforeMs / batchedMs) * 100) / 100 });
    }
  } finally {
    await reference.dispose();
    await reranker.dispose();
  }
} finally {
  await core.dispose();
  rmSync(dir, { recursive: true, force: true });
}
console.table(results);
console.table(rerankResults);
mkdirSync("bench-results", { recursive: true });
writeFileSync(path.join("bench-results", "embeddings.json"), `${JSON.stringify({ date: new Date().toISOString(), threads, repeats, results, rerankResults }, null, 2)}\n`);
