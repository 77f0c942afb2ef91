/**
 * `npm run bench`: decode speed through the local API (HTTP + SSE) against the in-process
 * engine on the same model file, in one run, plus time to first token and aggregate
 * throughput at 1, 2, 4 and 8 concurrent streams. Prints a table and writes JSON.
 *
 * The server is a real `marduk-local serve` process and this process is its client, so SSE
 * parsing does not steal the server's event loop (an in-process fetch client cost ~35% of the
 * decode rate on a 2-core machine). Engine and HTTP runs alternate and never overlap.
 *
 * Options (env): BENCH_SHAPE=smollm135m|tiny (default smollm135m), BENCH_TYPE=q8_0|f16
 * (default q8_0), BENCH_TOKENS (default 128), BENCH_REPEATS (default 3), BENCH_THREADS.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import { getBenchModelPath, SMOLLM_135M_SHAPE, TINY_BENCH_SHAPE } from "../test/fixtures/gguf/index.js";
import { median, startServe, streamChat, type StreamMeasure } from "./benchClient.js";

const shapeName = process.env.BENCH_SHAPE ?? "smollm135m";
const shape = shapeName === "tiny" ? TINY_BENCH_SHAPE : SMOLLM_135M_SHAPE;
const type = (process.env.BENCH_TYPE ?? "q8_0") as "q8_0" | "f16";
const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const concurrencies = [1, 2, 4, 8];
const messages = [{ role: "user" as const, content: "Write a long story about a fox." }];

async function main(): Promise<void> {
  console.log(`Generating/reading the ${shapeName} ${type} benchmark model...`);
  const modelPath = await getBenchModelPath({ ...shape, type });
  const dataDir = path.join(os.tmpdir(), `marduk-bench-${process.pid}`);
  const core = createCore({
    modelsDir: path.dirname(modelPath),
    dataDir,
    backend: "auto",
    threads: process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined,
    logger: createSilentLogger(),
  });
  const model = await core.engine.loadModel(modelPath, { contextSize: 512, parallel: Math.max(...concurrencies) });
  const runtime = await core.runtime();
  const { url, child: server } = await startServe(
    ["--models-dir", path.dirname(modelPath), "--data-dir", dataDir, "--model", model.id, "--ctx-size", "512", "--parallel", String(Math.max(...concurrencies)), "--threads", String(runtime.threads)],
    `Loaded ${model.id}`,
  );

  const inProcess = async (): Promise<StreamMeasure> => {
    const started = performance.now();
    const result = await model.chat(messages, { temperature: 0, ignoreEos: true, maxTokens }).collect();
    return { ttftMs: result.timings.firstTokenMs, decodeTokensPerSecond: result.timings.decodeTokensPerSecond, tokens: result.usage.completionTokens, totalMs: performance.now() - started };
  };

  const overHttp = (): Promise<StreamMeasure> => streamChat(url, { model: model.id, messages, temperature: 0, ignore_eos: true, max_tokens: maxTokens });

  console.log(`Model ${model.id}: ${(model.stats.modelBytes / 1e6).toFixed(1)} MB, backend ${runtime.backend}, ${runtime.threads} thread(s), ${maxTokens} tokens per stream`);
  // Warm up both paths once (caches, JIT).
  await inProcess();
  await overHttp();
  const engineRuns: StreamMeasure[] = [];
  const httpRuns: StreamMeasure[] = [];
  // Interleaved, so drift on a shared machine hits both sides alike.
  for (let run = 0; run < repeats; run++) {
    engineRuns.push(await inProcess());
    httpRuns.push(await overHttp());
  }
  const engineTps = median(engineRuns.map((run) => run.decodeTokensPerSecond));
  const httpTps = median(httpRuns.map((run) => run.decodeTokensPerSecond));

  const concurrency: Array<{ streams: number; aggregateTokensPerSecond: number; medianTtftMs: number; wallMs: number }> = [];
  for (const streams of concurrencies) {
    const started = performance.now();
    const runs = await Promise.all(Array.from({ length: streams }, () => overHttp()));
    const wallMs = performance.now() - started;
    const tokens = runs.reduce((sum, run) => sum + run.tokens, 0);
    concurrency.push({ streams, aggregateTokensPerSecond: (tokens * 1000) / wallMs, medianTtftMs: median(runs.map((run) => run.ttftMs)), wallMs });
  }

  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, totalMemoryBytes: os.totalmem() },
    model: { shape: shapeName, type, bytes: model.stats.modelBytes, backend: runtime.backend, threads: runtime.threads },
    singleStream: {
      inProcessDecodeTokensPerSecond: engineTps,
      httpSseDecodeTokensPerSecond: httpTps,
      httpToEngineRatio: httpTps / engineTps,
      inProcessTtftMs: median(engineRuns.map((run) => run.ttftMs)),
      httpTtftMs: median(httpRuns.map((run) => run.ttftMs)),
      runs: { engine: engineRuns, http: httpRuns },
    },
    concurrency,
  };

  console.log("\nSingle stream (median of %d)", repeats);
  console.table([
    { path: "in-process engine", "decode tok/s": engineTps.toFixed(1), "TTFT ms": results.singleStream.inProcessTtftMs.toFixed(1) },
    { path: "HTTP + SSE", "decode tok/s": httpTps.toFixed(1), "TTFT ms": results.singleStream.httpTtftMs.toFixed(1) },
  ]);
  console.log(`HTTP/engine decode ratio: ${results.singleStream.httpToEngineRatio.toFixed(3)}`);
  console.log("\nConcurrent streams through HTTP");
  console.table(concurrency.map((row) => ({ streams: row.streams, "aggregate tok/s": row.aggregateTokensPerSecond.toFixed(1), "median TTFT ms": row.medianTtftMs.toFixed(1), "wall ms": row.wallMs.toFixed(0) })));

  mkdirSync("bench-results", { recursive: true });
  const file = path.join("bench-results", "api-bench.json");
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`\nWrote ${file}`);
  server.kill("SIGTERM");
  // The engine keeps no registry: this model is the bench's own.
  await model.dispose();
  await core.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
