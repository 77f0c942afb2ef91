/**
 * `npm run bench:router`: what the router costs. One `marduk-local serve` holds the model (the
 * upstream); a second one in front of it (`--upstream`, no models of its own) forwards through
 * the router. Side by side in one run, interleaved: single-stream decode tokens/s and time to
 * first token direct and through the front, aggregate throughput of 4 concurrent streams
 * both ways, and the response cache's answer time for a repeated deterministic request.
 *
 * Options (env): BENCH_SHAPE=smollm135m|tiny (default tiny), BENCH_TOKENS (default 128),
 * BENCH_REPEATS (default 5), BENCH_THREADS (default 1).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { getBenchModelPath, SMOLLM_135M_SHAPE, TINY_BENCH_SHAPE } from "../test/fixtures/gguf/index.js";
import { median, startServe, streamChat, type StreamMeasure } from "./benchClient.js";

const shapeName = process.env.BENCH_SHAPE ?? "tiny";
const shape = shapeName === "smollm135m" ? SMOLLM_135M_SHAPE : TINY_BENCH_SHAPE;
const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const threads = process.env.BENCH_THREADS ?? "1";
const messages = [{ role: "user" as const, content: "Write a long story about a fox." }];

async function main(): Promise<void> {
  const modelPath = await getBenchModelPath({ ...shape, type: "q8_0" });
  const modelId = path.basename(modelPath, ".gguf");
  const dataDir = path.join(os.tmpdir(), `marduk-router-bench-${process.pid}`);
  const emptyDir = path.join(dataDir, "front-models");
  mkdirSync(emptyDir, { recursive: true });
  const upstream = await startServe(
    ["--models-dir", path.dirname(modelPath), "--data-dir", path.join(dataDir, "up"), "--model", modelId, "--ctx-size", "512", "--parallel", "4", "--threads", threads],
    `Loaded ${modelId}`,
  );
  const front = await startServe(["--models-dir", emptyDir, "--data-dir", path.join(dataDir, "front"), "--upstream", upstream.url], "Upstream upstream-1");
  try {
    const body = { model: modelId, messages, temperature: 0.8, ignore_eos: true, max_tokens: maxTokens };
    const direct = (): Promise<StreamMeasure> => streamChat(upstream.url, body);
    const routed = (): Promise<StreamMeasure> => streamChat(front.url, body);
    await direct();
    await routed();
    const directRuns: StreamMeasure[] = [];
    const routedRuns: StreamMeasure[] = [];
    for (let run = 0; run < repeats; run++) {
      directRuns.push(await direct());
      routedRuns.push(await routed());
    }
    const aggregate = async (run: () => Promise<StreamMeasure>) => {
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 4 }, run));
      return (results.reduce((sum, result) => sum + result.tokens, 0) * 1000) / (performance.now() - started);
    };
    const directAggregate = [await aggregate(direct)];
    const routedAggregate = [await aggregate(routed)];
    directAggregate.push(await aggregate(direct));
    routedAggregate.push(await aggregate(routed));

    // A deterministic request twice through the front: the second comes from the cache.
    const cached = { ...body, temperature: 0, seed: 1 };
    const miss = await streamChat(front.url, cached);
    const hit = await streamChat(front.url, cached);

    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model },
      model: { shape: shapeName, threads: Number(threads), maxTokens },
      singleStream: {
        directDecodeTokensPerSecond: median(directRuns.map((run) => run.decodeTokensPerSecond)),
        routedDecodeTokensPerSecond: median(routedRuns.map((run) => run.decodeTokensPerSecond)),
        directTtftMs: median(directRuns.map((run) => run.ttftMs)),
        routedTtftMs: median(routedRuns.map((run) => run.ttftMs)),
      },
      fourStreams: { directAggregateTokensPerSecond: Math.max(...directAggregate), routedAggregateTokensPerSecond: Math.max(...routedAggregate) },
      cache: { missTotalMs: miss.totalMs, hitTotalMs: hit.totalMs, hitProvider: hit.provider },
    };
    const single = results.singleStream;
    console.log(`\n${shapeName} model, ${threads} thread(s), ${maxTokens} tokens, median of ${repeats}`);
    console.table([
      { path: "direct to the upstream", "decode tok/s": single.directDecodeTokensPerSecond.toFixed(1), "TTFT ms": single.directTtftMs.toFixed(1), "4 streams tok/s": results.fourStreams.directAggregateTokensPerSecond.toFixed(1) },
      { path: "through the router", "decode tok/s": single.routedDecodeTokensPerSecond.toFixed(1), "TTFT ms": single.routedTtftMs.toFixed(1), "4 streams tok/s": results.fourStreams.routedAggregateTokensPerSecond.toFixed(1) },
    ]);
    console.log(`routed/direct decode ratio ${(single.routedDecodeTokensPerSecond / single.directDecodeTokensPerSecond).toFixed(3)}, TTFT +${(single.routedTtftMs - single.directTtftMs).toFixed(1)} ms`);
    console.log(`cache: miss ${miss.totalMs.toFixed(1)} ms, hit ${hit.totalMs.toFixed(1)} ms`);
    mkdirSync("bench-results", { recursive: true });
    writeFileSync(path.join("bench-results", "router-bench.json"), JSON.stringify(results, null, 2));
  } finally {
    front.child.kill("SIGTERM");
    upstream.child.kill("SIGTERM");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
