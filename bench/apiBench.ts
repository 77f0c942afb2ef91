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
import { spawn } from "node:child_process";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import { getBenchModelPath, SMOLLM_135M_SHAPE, TINY_BENCH_SHAPE } from "../test/fixtures/gguf/index.js";

const shapeName = process.env.BENCH_SHAPE ?? "smollm135m";
const shape = shapeName === "tiny" ? TINY_BENCH_SHAPE : SMOLLM_135M_SHAPE;
const type = (process.env.BENCH_TYPE ?? "q8_0") as "q8_0" | "f16";
const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const concurrencies = [1, 2, 4, 8];
const messages = [{ role: "user" as const, content: "Write a long story about a fox." }];

interface StreamMeasure {
  ttftMs: number;
  decodeTokensPerSecond: number;
  tokens: number;
  totalMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

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
  const server = spawn(
    process.execPath,
    [
      "bin/marduk-local.js", "serve", "--port", "0", "--models-dir", path.dirname(modelPath), "--data-dir", dataDir,
      "--model", model.id, "--ctx-size", "512", "--parallel", String(Math.max(...concurrencies)), "--threads", String(runtime.threads),
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, MARDUK_LOG_LEVEL: "warn" } },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /listening on (\S+)/.exec(output);
      if (listening && output.includes(`Loaded ${model.id}`)) resolve(listening[1]!);
    });
    server.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });

  const inProcess = async (): Promise<StreamMeasure> => {
    const started = performance.now();
    const result = await model.chat(messages, { temperature: 0, ignoreEos: true, maxTokens }).collect();
    return { ttftMs: result.timings.firstTokenMs, decodeTokensPerSecond: result.timings.decodeTokensPerSecond, tokens: result.usage.completionTokens, totalMs: performance.now() - started };
  };

  const overHttp = async (): Promise<StreamMeasure> => {
    const started = performance.now();
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: model.id, messages, temperature: 0, ignore_eos: true, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let firstTokenAt: number | undefined;
    let tokens = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let boundary: number;
      while ((boundary = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = event.replace(/^data: /, "");
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string } }>; usage?: { completion_tokens: number } };
        if (chunk.choices[0]?.delta.content) firstTokenAt ??= performance.now();
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
    }
    const ended = performance.now();
    const ttftMs = (firstTokenAt ?? ended) - started;
    return { ttftMs, decodeTokensPerSecond: tokens > 1 ? ((tokens - 1) * 1000) / (ended - (firstTokenAt ?? ended)) : 0, tokens, totalMs: ended - started };
  };

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
  await core.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
