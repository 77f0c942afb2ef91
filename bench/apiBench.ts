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
 * (default q8_0), BENCH_TOKENS (default 128), BENCH_REPEATS (default 3), BENCH_THREADS,
 * BENCH_SCENARIO=all|streams|multiturn|loadoptions (default all; the multi-turn scenario is
 * described at its section below; loadoptions, KV cache types and flash attention, runs only
 * when asked for: see ./loadOptionsBench.ts).
 * BENCH_THREADS may be a list ("1,2") for the streams and multi-turn scenarios: each runs once
 * per thread count (results files then end in `-t<N>`).
 * `--llama-server PATH` (or BENCH_LLAMA_SERVER): llama.cpp's own server as a peer, measured in
 * the same run through its `/completion` API with the same threads, slots and context, ratios
 * ours/llama-server in the tables; see ./llamaServerPeer.ts and scripts/build-llama-server.sh.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import type { LoadedModel } from "../src/core/engine/LoadedModel.js";
import type { LocalModel } from "../src/core/engine/LocalModel.js";
import { createSilentLogger } from "../src/core/logger.js";
import type { ChatMessage } from "../src/shared/api/generation.js";
import { getBenchModelPath, SMOLLM_135M_SHAPE, TINY_BENCH_SHAPE } from "../test/fixtures/gguf/index.js";
import { median, startServe, streamChat, type StreamMeasure } from "./benchClient.js";
import { LlamaServerPeer, llamaServerPathFromArgs, multiTurnOnPeer, processTreeResidentBytes, type PeerMultiTurnRow } from "./llamaServerPeer.js";
import { loadOptionsMain } from "./loadOptionsBench.js";
import { speculativeMain } from "./speculativeBench.js";

const shapeName = process.env.BENCH_SHAPE ?? "smollm135m";
const shape = shapeName === "tiny" ? TINY_BENCH_SHAPE : SMOLLM_135M_SHAPE;
const type = (process.env.BENCH_TYPE ?? "q8_0") as "q8_0" | "f16";
const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const concurrencies = [1, 2, 4, 8];
const messages = [{ role: "user" as const, content: "Write a long story about a fox." }];
const llamaServerPath = llamaServerPathFromArgs();
const threadCounts = process.env.BENCH_THREADS ? process.env.BENCH_THREADS.split(",").map(Number) : [undefined];
/** bench-results/<base>.json, or <base>-t<N>.json when BENCH_THREADS lists several counts. */
const resultsFile = (base: string, threads: number | undefined): string =>
  path.join("bench-results", threadCounts.length > 1 ? `${base}-t${threads}.json` : `${base}.json`);
const PEER = "llama-server /completion";
/** "1.23x" (ours/llama-server), or "" without the peer. */
const ratio = (ours: number, peer: number | undefined): string => (peer ? `${(ours / peer).toFixed(2)}x` : "");

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

async function main(threads: number | undefined): Promise<void> {
  console.log(`Generating/reading the ${shapeName} ${type} benchmark model...`);
  const modelPath = await getBenchModelPath({ ...shape, type });
  const dataDir = path.join(os.tmpdir(), `marduk-bench-${process.pid}`);
  const core = createCore({
    modelsDir: path.dirname(modelPath),
    dataDir,
    backend: "auto",
    threads,
    logger: createSilentLogger(),
    modelHost: "process",
    keepAliveMs: -1,
  });
  const load = { contextSize: 512, parallel: Math.max(...concurrencies) };
  const runtime = await core.runtime();
  // The peer gets as many slots as our sequences; started first, so that a failure leaves nothing running.
  const peer = llamaServerPath
    ? await LlamaServerPeer.start({ binary: llamaServerPath, modelPath, threads: runtime.threads, slots: load.parallel, contextPerSlot: load.contextSize }).catch(async (error: unknown) => {
        await core.dispose();
        throw error;
      })
    : undefined;
  // The engine loads in this process; the residency (modelHost "process") in a host process.
  const inProcessModel = await core.engine.loadModel(modelPath, load);
  const hosted = await core.residency.acquire(core.residency.registerFile(modelPath), { load });
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
  // The peer gets the same chat, formatted by its own template.
  const peerPrompt = peer ? await peer.applyTemplate(messages) : "";
  const onPeer = (): Promise<StreamMeasure> => peer!.streamCompletion({ prompt: peerPrompt, maxTokens, cachePrompt: false });

  const paths = {
    "engine, in-process": () => generateDirectly(inProcessModel),
    "engine, process host": () => generateDirectly(hosted.model),
    "HTTP + SSE, in-process": overHttp("in-process"),
    "HTTP + SSE, process host": overHttp("process"),
    ...(peer ? { [PEER]: onPeer } : {}),
  } as const;
  type PathName = keyof typeof paths;
  const names = Object.keys(paths) as PathName[];

  console.log(`Model ${inProcessModel.id}: ${(inProcessModel.stats.modelBytes / 1e6).toFixed(1)} MB, backend ${runtime.backend}, ${runtime.threads} thread(s), ${maxTokens} tokens per stream`);
  // Warm up every path once (caches, JIT).
  for (const name of names) await paths[name]!();
  const runs = Object.fromEntries(names.map((name) => [name, [] as StreamMeasure[]])) as Record<PathName, StreamMeasure[]>;
  for (let run = 0; run < repeats; run++) {
    for (const name of names) runs[name].push(await paths[name]!());
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
  const hosts = ["in-process", "process", ...(peer ? (["llama-server"] as const) : [])] as const;
  const streamOn = (host: (typeof hosts)[number]) => (host === "llama-server" ? onPeer : overHttp(host));
  for (const streams of concurrencies) {
    const rounds = Object.fromEntries(hosts.map((host) => [host, [] as { aggregateTokensPerSecond: number; medianTtftMs: number; wallMs: number }[]]));
    // Interleaved rounds, the median kept: one round of a few seconds is at the mercy of the machine.
    for (let run = 0; run < repeats; run++) {
      for (const modelHost of hosts) {
        const started = performance.now();
        const results = await Promise.all(Array.from({ length: streams }, () => streamOn(modelHost)()));
        const wallMs = performance.now() - started;
        const tokens = results.reduce((sum, result) => sum + result.tokens, 0);
        rounds[modelHost]!.push({ aggregateTokensPerSecond: (tokens * 1000) / wallMs, medianTtftMs: median(results.map((result) => result.ttftMs)), wallMs });
      }
    }
    for (const modelHost of hosts) {
      const of = (key: "aggregateTokensPerSecond" | "medianTtftMs" | "wallMs") => median(rounds[modelHost]!.map((round) => round[key]));
      concurrency.push({ modelHost, streams, aggregateTokensPerSecond: of("aggregateTokensPerSecond"), medianTtftMs: of("medianTtftMs"), wallMs: of("wallMs") });
    }
  }

  // Resident memory after the runs: each server with its model host processes, vs the peer.
  const memory = {
    "serve, in-process": processTreeResidentBytes(servers["in-process"].child.pid),
    "serve + model host process": processTreeResidentBytes(servers.process.child.pid),
    ...(peer ? { "llama-server": processTreeResidentBytes(peer.pid) } : {}),
  };
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.availableParallelism(), cpuModel: os.cpus()[0]?.model, totalMemoryBytes: os.totalmem() },
    model: { shape: shapeName, type, bytes: inProcessModel.stats.modelBytes, backend: runtime.backend, threads: runtime.threads },
    singleStream: { ...single, hostCost, runs },
    concurrency,
    memory,
    ...(peer ? { llamaServer: { binary: llamaServerPath, slots: load.parallel, contextPerSlot: load.contextSize } } : {}),
  };

  console.log("\nSingle stream (median of %d)", repeats);
  const peerSingle = peer ? single[PEER] : undefined;
  console.table(
    names.map((name) => ({
      path: name,
      "decode tok/s": single[name].decodeTokensPerSecond.toFixed(1),
      "TTFT ms": single[name].ttftMs.toFixed(1),
      ...(peerSingle && name !== PEER ? { "decode vs llama-server": ratio(single[name].decodeTokensPerSecond, peerSingle.decodeTokensPerSecond), "TTFT vs llama-server": ratio(single[name].ttftMs, peerSingle.ttftMs) } : {}),
    })),
  );
  console.log(
    `Process host vs in-process: engine decode ratio ${hostCost.engineDecodeRatio.toFixed(3)}, TTFT ${hostCost.engineTtftExtraMs >= 0 ? "+" : ""}${hostCost.engineTtftExtraMs.toFixed(1)} ms; ` +
      `HTTP decode ratio ${hostCost.httpDecodeRatio.toFixed(3)}, TTFT ${hostCost.httpTtftExtraMs >= 0 ? "+" : ""}${hostCost.httpTtftExtraMs.toFixed(1)} ms`,
  );
  console.log("\nConcurrent streams through HTTP (median of %d rounds)", repeats);
  const peerRow = (streams: number) => concurrency.find((row) => row.modelHost === "llama-server" && row.streams === streams);
  console.table(
    concurrency.map((row) => ({
      "model host": row.modelHost,
      streams: row.streams,
      "aggregate tok/s": row.aggregateTokensPerSecond.toFixed(1),
      "median TTFT ms": row.medianTtftMs.toFixed(1),
      "wall ms": row.wallMs.toFixed(0),
      ...(peer && row.modelHost !== "llama-server"
        ? { "tok/s vs llama-server": ratio(row.aggregateTokensPerSecond, peerRow(row.streams)?.aggregateTokensPerSecond), "TTFT vs llama-server": ratio(row.medianTtftMs, peerRow(row.streams)?.medianTtftMs) }
        : {}),
    })),
  );
  console.log("\nResident memory after the runs (VmRSS, with child processes)");
  console.table(Object.entries(memory).map(([process, bytes]) => ({ process, "RSS MB": bytes === undefined ? "n/a" : (bytes / 1e6).toFixed(1) })));
  if (peer) console.log(`llama-server: ${llamaServerPath} (scripts/build-llama-server.sh: native CPU code, OpenMP); ours: node-llama-cpp's ${runtime.backend} binary`);

  mkdirSync("bench-results", { recursive: true });
  const file = resultsFile("api-bench", threads);
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`\nWrote ${file}`);
  for (const server of Object.values(servers)) server.child.kill("SIGTERM");
  await peer?.dispose();
  hosted.release();
  // The engine keeps no registry: this model is the bench's own.
  await inProcessModel.dispose();
  await core.dispose();
}

// ---------------------------------------------------------------------------------------------
// Multi-turn scenario: interleaved conversations that grow turn by turn, as chat clients send
// them (the whole history each time). Shows whether a returning conversation finds its prompt
// still in a sequence's KV cache (or on disk, with more conversations than sequences): then
// the last turn's time to first token stays close to the first turn's.
// Options (env): BENCH_MT_CONVERSATIONS (default "1,4"), BENCH_MT_TURNS (default 10),
// BENCH_MT_FIRST_TOKENS (default 800), BENCH_MT_TURN_TOKENS (default 250),
// BENCH_MT_REPLY_TOKENS (default 32), BENCH_MT_PARALLEL (default 4).

interface MultiTurnRow {
  conversations: number;
  turns: number;
  /** Median over the conversations of each turn's time to first token. */
  ttftMsByTurn: number[];
  firstTurnTtftMs: number;
  lastTurnTtftMs: number;
  lastTurnPromptTokens: number;
  reusedPromptShare: number;
  statesSaved: number;
  statesRestored: number;
}

/** Deterministic filler of made-up words, `tokens` long in the model's tokenizer (about). */
function fillerText(model: LoadedModel, seed: number, tokens: number): string {
  const syllables = ["ka", "lo", "mi", "ru", "te", "so", "na", "vi", "pe", "du", "ga", "ze"];
  let state = seed * 7919 + 17;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2147483648);
  const words: string[] = [];
  let text = "";
  while (model.model.tokenize(text, false).length < tokens) {
    for (let index = 0; index < 16; index++) {
      const length = 1 + (next() % 3);
      words.push(Array.from({ length }, () => syllables[next() % syllables.length]).join(""));
    }
    text = words.join(" ");
  }
  return text;
}

/** The user message of one conversation's turn (the same for our engine and the peer). */
function userTurnText(model: LoadedModel, conversations: number, conversation: number, turn: number, options: { firstTokens: number; turnTokens: number }): string {
  const seed = conversations * 1000 + conversation * 100 + turn;
  return turn === 0 ? `Conversation ${conversation}. ${fillerText(model, seed, options.firstTokens)}` : fillerText(model, seed, options.turnTokens);
}

async function multiTurnScenario(model: LoadedModel, conversations: number, options: { turns: number; firstTokens: number; turnTokens: number; replyTokens: number }): Promise<MultiTurnRow> {
  const before = model.promptCache;
  const histories: ChatMessage[][] = Array.from({ length: conversations }, () => []);
  const ttfts: number[][] = Array.from({ length: options.turns }, () => []);
  let lastTurnPromptTokens = 0;
  for (let turn = 0; turn < options.turns; turn++) {
    // Round-robin, one request at a time: each time to first token is that prompt's evaluation.
    for (const [conversation, history] of histories.entries()) {
      history.push({ role: "user", content: userTurnText(model, conversations, conversation, turn, options) });
      const result = await model.chat(history, { temperature: 0, ignoreEos: true, maxTokens: options.replyTokens }).collect();
      history.push({ role: "assistant", content: result.text });
      ttfts[turn]!.push(result.timings.firstTokenMs);
      lastTurnPromptTokens = Math.max(lastTurnPromptTokens, result.usage.promptTokens);
    }
  }
  const after = model.promptCache;
  const ttftMsByTurn = ttfts.map((values) => median(values));
  return {
    conversations,
    turns: options.turns,
    ttftMsByTurn,
    firstTurnTtftMs: ttftMsByTurn[0]!,
    lastTurnTtftMs: ttftMsByTurn.at(-1)!,
    lastTurnPromptTokens,
    reusedPromptShare: (after.reusedPromptTokens - before.reusedPromptTokens) / Math.max(1, after.promptTokens - before.promptTokens),
    statesSaved: after.states.saved - before.states.saved,
    statesRestored: after.states.restored - before.states.restored,
  };
}

/**
 * The multi-turn row of the llama-server peer, on a fresh server with as many slots as our
 * sequences; undefined (with the reason printed) when it cannot run it: llama-server caps a
 * slot's context at the model's training context, where our engine allows more.
 */
async function multiTurnPeerRow(
  binary: string,
  model: LoadedModel,
  conversations: number,
  options: { turns: number; firstTokens: number; turnTokens: number; replyTokens: number; parallel: number; contextSize: number },
): Promise<PeerMultiTurnRow | undefined> {
  const longestPrompt = options.firstTokens + options.turns * (options.turnTokens + options.replyTokens);
  if (longestPrompt > model.model.trainContextSize) {
    console.log(`llama-server: skipped, a conversation reaches ~${longestPrompt} tokens and it caps a slot at the training context (${model.model.trainContextSize}); lower BENCH_MT_TURNS`);
    return undefined;
  }
  const peer = await LlamaServerPeer.start({ binary, modelPath: model.path, threads: model.threads, slots: options.parallel, contextPerSlot: options.contextSize });
  try {
    const userText = (conversation: number, turn: number): string => userTurnText(model, conversations, conversation, turn, options);
    return await multiTurnOnPeer(peer, { conversations, turns: options.turns, replyTokens: options.replyTokens, userText });
  } catch (error) {
    console.log(`llama-server: the multi-turn row failed: ${(error as Error).message}`);
    return undefined;
  } finally {
    await peer.dispose();
  }
}

async function multiTurnMain(threads: number | undefined): Promise<void> {
  const options = {
    turns: Number(process.env.BENCH_MT_TURNS ?? 10),
    firstTokens: Number(process.env.BENCH_MT_FIRST_TOKENS ?? 800),
    turnTokens: Number(process.env.BENCH_MT_TURN_TOKENS ?? 250),
    replyTokens: Number(process.env.BENCH_MT_REPLY_TOKENS ?? 32),
  };
  const parallel = Number(process.env.BENCH_MT_PARALLEL ?? 4);
  const counts = (process.env.BENCH_MT_CONVERSATIONS ?? "1,4").split(",").map(Number);
  const modelPath = await getBenchModelPath({ ...shape, type });
  const dataDir = path.join(os.tmpdir(), `marduk-bench-mt-${process.pid}`);
  const core = createCore({ modelsDir: path.dirname(modelPath), dataDir, backend: "auto", threads, logger: createSilentLogger(), keepAliveMs: -1 });
  // Room for the longest conversation: first prompt, every turn and every reply, with slack.
  const contextSize = Math.ceil((options.firstTokens + options.turns * (options.turnTokens + options.replyTokens)) * 1.2 + 64);
  const rows: MultiTurnRow[] = [];
  const peerRows: Array<PeerMultiTurnRow | undefined> = [];
  for (const conversations of counts) {
    // A fresh model per row, so no row starts with another's caches.
    const model = await core.engine.loadModel(modelPath, { contextSize, parallel });
    try {
      console.log(`Multi-turn: ${conversations} conversation(s), ${options.turns} turns, parallel ${parallel}, context ${contextSize}...`);
      rows.push(await multiTurnScenario(model, conversations, options));
      if (llamaServerPath) peerRows.push(await multiTurnPeerRow(llamaServerPath, model, conversations, { ...options, parallel, contextSize }));
    } finally {
      await core.engine.unloadModel(model);
    }
  }
  console.log(`\nMulti-turn, interleaved round-robin (${shapeName} ${type}; first prompt ~${options.firstTokens} tokens, +${options.turnTokens} a turn, ${options.replyTokens}-token replies; median over conversations)`);
  console.table(
    rows.map((row, index) => ({
      conversations: row.conversations,
      "turn-1 TTFT ms": row.firstTurnTtftMs.toFixed(0),
      [`turn-${row.turns} TTFT ms`]: row.lastTurnTtftMs.toFixed(0),
      ratio: (row.lastTurnTtftMs / row.firstTurnTtftMs).toFixed(2),
      "last prompt tokens": row.lastTurnPromptTokens,
      "prompt reused": `${(row.reusedPromptShare * 100).toFixed(0)}%`,
      "states saved/restored": `${row.statesSaved}/${row.statesRestored}`,
      ...(peerRows[index]
        ? {
            "llama-server turn-1 ms": peerRows[index].firstTurnTtftMs.toFixed(0),
            [`llama-server turn-${row.turns} ms`]: peerRows[index].lastTurnTtftMs.toFixed(0),
            [`turn-${row.turns} vs llama-server`]: ratio(row.lastTurnTtftMs, peerRows[index].lastTurnTtftMs),
            "llama-server reused": `${(peerRows[index].reusedPromptShare * 100).toFixed(0)}%`,
          }
        : {}),
    })),
  );
  mkdirSync("bench-results", { recursive: true });
  const file = resultsFile("api-bench-multiturn", threads);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), model: { shape: shapeName, type }, parallel, options, rows, ...(llamaServerPath ? { llamaServerRows: peerRows } : {}) }, null, 2));
  console.log(`Wrote ${file}`);
  await core.dispose();
}

// BENCH_SCENARIO=streams runs only the paths and concurrency above; =multiturn only the multi-turn scenario.
// =loadoptions (never part of "all") only KV cache types and flash attention, see ./loadOptionsBench.ts;
// =speculative (never part of "all") prompt lookup off and on, see ./speculativeBench.ts.
const scenario = process.env.BENCH_SCENARIO ?? "all";
(async () => {
  if (scenario === "loadoptions") return loadOptionsMain({ shapeName, shape, type });
  if (scenario === "speculative") return speculativeMain();
  for (const threads of threadCounts) {
    if (scenario !== "multiturn") await main(threads);
    if (scenario !== "streams") await multiTurnMain(threads);
  }
})().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
