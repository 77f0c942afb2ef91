/**
 * `npm run bench`: decode speed and time to first token of one model file along four paths, in
 * one run, side by side: the engine in this process, the same engine in a model host process
 * (the server's default: each model in a process of its own), and the local API (HTTP + SSE)
 * of a `serve` with each of the two; plus aggregate throughput at 1, 2, 4 and 8 concurrent
 * streams through both servers (median of BENCH_REPEATS rounds). Prints tables and writes JSON.
 *
 * The servers are real `marduk-local serve` processes and this process is their client, so SSE
 * parsing does not steal a server's event loop (an in-process fetch client cost ~35% of the
 * decode rate on a 2-core machine). The direct paths are measured as their caller sees them
 * (first delta, last delta). Runs alternate and never overlap, so drift on a shared machine
 * hits every path alike.
 *
 * Options (env): BENCH_SHAPE=smollm135m|tiny (default smollm135m), BENCH_TYPE=q8_0|f16
 * (default q8_0), BENCH_TOKENS (default 128), BENCH_REPEATS (default 3), BENCH_THREADS.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import type { LocalModel } from "../src/core/engine/LocalModel.js";
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

/** One generation as its caller sees it: from the call to the first delta with text, then to the end. */
async function generateDirectly(model: LocalModel): Promise<StreamMeasure> {
  const started = performance.now();
  const stream = model.chat(messages, { temperature: 0, ignoreEos: true, maxTokens });
  let firstAt: number | undefined;
  for await (const delta of stream) if (delta.text) firstAt ??= performance.now();
  const result = await stream.result;
  const ended = performance.now();
  const tokens = result.usage.completionTokens;
  const decodeMs = ended - (firstAt ?? ended);
  return { ttftMs: (firstAt ?? ended) - started, decodeTokensPerSecond: tokens > 1 && decodeMs > 0 ? ((tokens - 1) * 1000) / decodeMs : 0, tokens, totalMs: ended - started };
}

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
    modelHost: "process",
    keepAliveMs: -1,
  });
  const load = { contextSize: 512, parallel: Math.max(...concurrencies) };
  // The engine loads in this process; the residency (modelHost "process") in a host process.
  const inProcessModel = await core.engine.loadModel(modelPath, load);
  const hosted = await core.residency.acquire(core.residency.registerFile(modelPath), { load });
  const runtime = await core.runtime();
  const serveArgs = (modelHost: string) => [
    "--models-dir", path.dirname(modelPath), "--data-dir", path.join(dataDir, modelHost), "--model", inProcessModel.id, "--model-host", modelHost,
    "--ctx-size", "512", "--parallel", String(Math.max(...concurrencies)), "--threads", String(runtime.threads),
  ];
  const servers = {
    process: await startServe(serveArgs("process"), `Loaded ${inProcessModel.id}`),
    "in-process": await startServe(serveArgs("in-process"), `Loaded ${inProcessModel.id}`),
  };
  const overHttp = (server: keyof typeof servers) => (): Promise<StreamMeasure> =>
    streamChat(servers[server].url, { model: inProcessModel.id, messages, temperature: 0, ignore_eos: true, max_tokens: maxTokens, cache: false });

  const paths = {
    "engine, in-process": () => generateDirectly(inProcessModel),
    "engine, process host": () => generateDirectly(hosted.model),
    "HTTP + SSE, in-process": overHttp("in-process"),
    "HTTP + SSE, process host": overHttp("process"),
  } as const;
  type PathName = keyof typeof paths;
  const names = Object.keys(paths) as PathName[];

  console.log(`Model ${inProcessModel.id}: ${(inProcessModel.stats.modelBytes / 1e6).toFixed(1)} MB, backend ${runtime.backend}, ${runtime.threads} thread(s), ${maxTokens} tokens per stream`);
  // Warm up every path once (caches, JIT).
  for (const name of names) await paths[name]();
  const runs = Object.fromEntries(names.map((name) => [name, [] as StreamMeasure[]])) as Record<PathName, StreamMeasure[]>;
  for (let run = 0; run < repeats; run++) {
    for (const name of names) runs[name].push(await paths[name]());
  }
  const single = Object.fromEntries(
    names.map((name) => [name, { decodeTokensPerSecond: median(runs[name].map((run) => run.decodeTokensPerSecond)), ttftMs: median(runs[name].map((run) => run.ttftMs)) }]),
  ) as Record<PathName, { decodeTokensPerSecond: number; ttftMs: number }>;
  const hostCost = {
    engineDecodeRatio: single["engine, process host"].decodeTokensPerSecond / single["engine, in-process"].decodeTokensPerSecond,
    engineTtftExtraMs: single["engine, process host"].ttftMs - single["engine, in-process"].ttftMs,
    httpDecodeRatio: single["HTTP + SSE, process host"].decodeTokensPerSecond / single["HTTP + SSE, in-process"].decodeTokensPerSecond,
    httpTtftExtraMs: single["HTTP + SSE, process host"].ttftMs - single["HTTP + SSE, in-process"].ttftMs,
  };

  const concurrency: Array<{ modelHost: string; streams: number; aggregateTokensPerSecond: number; medianTtftMs: number; wallMs: number }> = [];
  for (const streams of concurrencies) {
    const rounds: Record<"in-process" | "process", { aggregateTokensPerSecond: number; medianTtftMs: number; wallMs: number }[]> = { "in-process": [], process: [] };
    // Interleaved rounds, the median kept: one round of a few seconds is at the mercy of the machine.
    for (let run = 0; run < repeats; run++) {
      for (const modelHost of ["in-process", "process"] as const) {
        const started = performance.now();
        const results = await Promise.all(Array.from({ length: streams }, () => overHttp(modelHost)()));
        const wallMs = performance.now() - started;
        const tokens = results.reduce((sum, result) => sum + result.tokens, 0);
        rounds[modelHost].push({ aggregateTokensPerSecond: (tokens * 1000) / wallMs, medianTtftMs: median(results.map((result) => result.ttftMs)), wallMs });
      }
    }
    for (const modelHost of ["in-process", "process"] as const) {
      const of = (key: "aggregateTokensPerSecond" | "medianTtftMs" | "wallMs") => median(rounds[modelHost].map((round) => round[key]));
      concurrency.push({ modelHost, streams, aggregateTokensPerSecond: of("aggregateTokensPerSecond"), medianTtftMs: of("medianTtftMs"), wallMs: of("wallMs") });
    }
  }

  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, totalMemoryBytes: os.totalmem() },
    model: { shape: shapeName, type, bytes: inProcessModel.stats.modelBytes, backend: runtime.backend, threads: runtime.threads },
    singleStream: { ...single, hostCost, runs },
    concurrency,
  };

  console.log("\nSingle stream (median of %d)", repeats);
  console.table(names.map((name) => ({ path: name, "decode tok/s": single[name].decodeTokensPerSecond.toFixed(1), "TTFT ms": single[name].ttftMs.toFixed(1) })));
  console.log(
    `Process host vs in-process: engine decode ratio ${hostCost.engineDecodeRatio.toFixed(3)}, TTFT ${hostCost.engineTtftExtraMs >= 0 ? "+" : ""}${hostCost.engineTtftExtraMs.toFixed(1)} ms; ` +
      `HTTP decode ratio ${hostCost.httpDecodeRatio.toFixed(3)}, TTFT ${hostCost.httpTtftExtraMs >= 0 ? "+" : ""}${hostCost.httpTtftExtraMs.toFixed(1)} ms`,
  );
  console.log("\nConcurrent streams through HTTP (median of %d rounds)", repeats);
  console.table(concurrency.map((row) => ({ "model host": row.modelHost, streams: row.streams, "aggregate tok/s": row.aggregateTokensPerSecond.toFixed(1), "median TTFT ms": row.medianTtftMs.toFixed(1), "wall ms": row.wallMs.toFixed(0) })));

  mkdirSync("bench-results", { recursive: true });
  const file = path.join("bench-results", "api-bench.json");
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`\nWrote ${file}`);
  for (const server of Object.values(servers)) server.child.kill("SIGTERM");
  hosted.release();
  // The engine keeps no registry: this model is the bench's own.
  await inProcessModel.dispose();
  await core.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
