/**
 * Embeddings bench (`npx tsx bench/embeddingsBench.ts`): 64 inputs embedded in one
 * `inference.embed` call versus 64 calls one after another, in-process (no HTTP, no model host
 * process), with the fixture model and, when present, ../shared/models/stories260K.gguf.
 * Writes bench-results/embeddings.json.
 *
 * Options (env): BENCH_EMBED_INPUTS (default 64), BENCH_REPEATS (default 3), BENCH_THREADS (default 2).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import { getFixtureModelPath } from "../test/fixtures/gguf/index.js";
import { median } from "./benchClient.js";

const inputCount = Number(process.env.BENCH_EMBED_INPUTS ?? 64);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const threads = Number(process.env.BENCH_THREADS ?? 2);
const stories = path.resolve("../shared/models/stories260K.gguf");

const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-embed-bench-"));
const modelsDir = path.join(dir, "models");
mkdirSync(modelsDir, { recursive: true });
copyFileSync(await getFixtureModelPath(), path.join(modelsDir, "fixture.gguf"));
const models = ["fixture"];
if (existsSync(stories)) {
  copyFileSync(stories, path.join(modelsDir, "stories.gguf"));
  models.push("stories");
}
const core = createCore({ modelsDir, dataDir: dir, backend: "cpu", threads, logger: createSilentLogger(), modelHost: "in-process", keepAliveMs: -1 });
const inputs = Array.from({ length: inputCount }, (_, index) => `Once upon a time, input number ${index} told a story about a little fox and a lazy dog.`);
const results = [];
try {
  for (const model of models) {
    await core.inference.embed(model, ["warm up"]);
    const batchedMs: number[] = [];
    const oneByOneMs: number[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      let started = performance.now();
      await core.inference.embed(model, inputs);
      batchedMs.push(performance.now() - started);
      started = performance.now();
      for (const input of inputs) await core.inference.embed(model, [input]);
      oneByOneMs.push(performance.now() - started);
    }
    const batched = median(batchedMs);
    const oneByOne = median(oneByOneMs);
    results.push({
      model,
      inputs: inputCount,
      oneCallMs: Math.round(batched * 10) / 10,
      oneCallInputsPerSecond: Math.round((inputCount / batched) * 1000),
      oneByOneMs: Math.round(oneByOne * 10) / 10,
      oneByOneInputsPerSecond: Math.round((inputCount / oneByOne) * 1000),
    });
  }
} finally {
  await core.dispose();
  rmSync(dir, { recursive: true, force: true });
}
console.table(results);
mkdirSync("bench-results", { recursive: true });
writeFileSync(path.join("bench-results", "embeddings.json"), `${JSON.stringify({ date: new Date().toISOString(), threads, repeats, results }, null, 2)}\n`);
