/**
 * `npx tsx bench/decodeProfile.ts`: where a decoded token's time goes with 1 and N concurrent
 * sequences in one context, layer by layer, side by side in one run (median of rounds):
 *
 * - "raw evaluate": node-llama-cpp alone, `sequence.evaluate` generators (no detokenizing,
 *   no stop checks), one per sequence, under several batch dispatch schedules;
 * - "engine": our `LoadedModel.complete` in this process (LlamaCompletion, our stream);
 * - "process host": the same through a model host process (IPC, DeltaBatcher).
 *
 * For the raw layer it also counts the `llama_decode` batches and their sizes (by wrapping the
 * native context's `initBatch`, a diagnostic only): fewer tokens per batch than sequences means
 * the sequences missed each other's batch and llama.cpp ran more, smaller decodes.
 *
 * Options (env): PROFILE_STREAMS (default "1,8"), PROFILE_THREADS (default "1,2"),
 * PROFILE_TOKENS (default 128), PROFILE_REPEATS (default 3), PROFILE_LAYERS (default
 * "raw,engine,host"), PROFILE_FA (engine/host flashAttention load options, default "auto,off"), PROFILE_SCHEDULES (default "nextCycle,twoImmediates,timeout0,fullBatch,nextCycle+fa"; "+fa": flash attention).
 * Run under `node --cpu-prof --import tsx` to see JS time per token.
 */
import os from "node:os";
import path from "node:path";
import { getLlama, type LlamaContext, type LlamaContextOptions } from "node-llama-cpp";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import { getBenchModelPath, SMOLLM_135M_SHAPE } from "../test/fixtures/gguf/index.js";
import { median } from "./benchClient.js";

const streamCounts = (process.env.PROFILE_STREAMS ?? "1,8").split(",").map(Number);
const threadCounts = (process.env.PROFILE_THREADS ?? "1,2").split(",").map(Number);
const maxTokens = Number(process.env.PROFILE_TOKENS ?? 128);
const repeats = Number(process.env.PROFILE_REPEATS ?? 3);
const layers = (process.env.PROFILE_LAYERS ?? "raw,engine,host").split(",");
const prompt = "Write a long story about a fox.";
const contextPerSequence = 512;

type DispatchSchedule = NonNullable<NonNullable<LlamaContextOptions["batching"]>["dispatchSchedule"]>;
/** Candidate batch dispatch schedules (when a batch is decoded after its first item was queued). */
const schedules: Record<string, DispatchSchedule> = {
  nextCycle: "nextCycle",
  twoImmediates: (dispatch) => setImmediate(() => setImmediate(dispatch)),
  timeout0: (dispatch) => setTimeout(dispatch, 0),
};
/**
 * "fullBatch": waits (a few event-loop turns at most) until every sequence of the context has
 * queued its next token, so one llama_decode carries all of them. Reads node-llama-cpp's
 * internal queue (`_queuedDecodes`): an experiment, not something to ship.
 */
function fullBatchSchedule(getContext: () => LlamaContext | undefined, sequences: number): DispatchSchedule {
  return (dispatch) => {
    let turns = 0;
    const check = (): void => {
      const queued = (getContext() as unknown as { _queuedDecodes?: unknown[] } | undefined)?._queuedDecodes?.length ?? sequences;
      if (queued >= sequences || ++turns > 8) dispatch();
      else setImmediate(check);
    };
    setImmediate(check);
  };
}

/** Raw-layer variants: a schedule name, optionally "+fa" (flash attention on). */
const variantOptions = (variant: string): Pick<LlamaContextOptions, "batching" | "flashAttention"> => {
  const [schedule, ...flags] = variant.split("+");
  return { batching: { dispatchSchedule: schedules[schedule!]! }, flashAttention: flags.includes("fa") };
};
const scheduleNames = (process.env.PROFILE_SCHEDULES ?? [...Object.keys(schedules), "fullBatch", "nextCycle+fa"].join(",")).split(",");

interface Round {
  tokensPerSecond: number;
  /** llama_decode calls per generated token of one sequence (1 = every step one batch). */
  batchesPerStep?: number;
  /** Mean tokens per llama_decode batch (decode steps only; N = perfect batching). */
  tokensPerBatch?: number;
  /** Share of the round's wall time spent inside llama_decode (the rest: sampling, JS, gaps). */
  decodeShare?: number;
}

interface BatchCounts {
  batches: number;
  tokens: number;
  /** Wall time inside the native `decodeBatch` (llama_decode on its worker thread). */
  decodeMs: number;
}

/**
 * Counts the batches a context decodes and the time spent in llama_decode, by putting a proxy
 * in place of node-llama-cpp's native context object (`_ctx`, internal; diagnostics only: its
 * methods are read-only, so they cannot be wrapped in place).
 */
function countBatches(context: LlamaContext): { reset: () => void; read: () => BatchCounts } {
  const holder = context as unknown as { _ctx: Record<string, unknown> };
  const native = holder._ctx;
  const counts: BatchCounts = { batches: 0, tokens: 0, decodeMs: 0 };
  holder._ctx = new Proxy(native, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      if (key === "initBatch")
        return (size: number) => {
          counts.batches++;
          counts.tokens += size;
          return method.call(target, size);
        };
      if (key === "decodeBatch")
        return async () => {
          const started = performance.now();
          try {
            return await method.call(target);
          } finally {
            counts.decodeMs += performance.now() - started;
          }
        };
      return method.bind(target);
    },
  });
  return { reset: () => Object.assign(counts, { batches: 0, tokens: 0, decodeMs: 0 }), read: () => ({ ...counts }) };
}

/** The batching figures of a round that took `ms` for `steps` tokens per sequence. */
function batchFigures(counts: BatchCounts, steps: number, ms: number): Omit<Round, "tokensPerSecond"> {
  return { batchesPerStep: counts.batches / steps, tokensPerBatch: counts.tokens / Math.max(1, counts.batches), decodeShare: counts.decodeMs / ms };
}

let reportedBinary = false;

/** One measured path, set up once; `run` is one round, `dispose` frees it. */
interface Runner {
  name: string;
  run: () => Promise<Round>;
  dispose: () => Promise<void>;
}

async function rawLayer(modelPath: string, threads: number, streams: number, variant: string): Promise<Runner> {
  // The options our runtime (loadEngineBuild) passes, so both layers load the same binary.
  const llama = await getLlama({ gpu: false, build: "never", skipDownload: true, progressLogs: false });
  if (!reportedBinary) console.log(`raw layer binary: ${llama.buildType}, ${llama.cpuMathCores} math cores, ${llama.systemInfo}`);
  reportedBinary = true;
  const model = await llama.loadModel({ modelPath });
  const created: { context?: LlamaContext } = {};
  const options = variant.startsWith("fullBatch")
    ? { ...variantOptions(variant.replace("fullBatch", "nextCycle")), batching: { dispatchSchedule: fullBatchSchedule(() => created.context, streams) } }
    : variantOptions(variant);
  const context = await model.createContext({ contextSize: contextPerSequence, sequences: streams, threads, ...options });
  created.context = context;
  const counter = countBatches(context);
  const sequences = Array.from({ length: streams }, () => context.getSequence());
  const promptTokens = model.tokenize(prompt);
  const run = async (): Promise<Round> => {
    await Promise.all(sequences.map((sequence) => sequence.clearHistory()));
    // The prompt alone first, so the round times decode steps only.
    const generators = sequences.map((sequence) => sequence.evaluate(promptTokens, { temperature: 0 }));
    await Promise.all(generators.map((generator) => generator.next()));
    counter.reset();
    const started = performance.now();
    await Promise.all(
      generators.map(async (generator) => {
        for (let produced = 1; produced < maxTokens; produced++) {
          const next = await generator.next();
          if (next.done) break;
        }
        await generator.return(undefined);
      }),
    );
    const ms = performance.now() - started;
    const steps = maxTokens - 1;
    return { tokensPerSecond: (steps * streams * 1000) / ms, ...batchFigures(counter.read(), steps, ms) };
  };
  return {
    name: `raw evaluate, ${variant}`,
    run,
    dispose: async () => {
      await context.dispose();
      await model.dispose();
    },
  };
}

/**
 * Our engine in this process ("engine") or in a model host process ("host"); `flashAttention`
 * is the load option (default "auto", which llama.cpp turns on for the CPU).
 */
async function coreLayer(modelPath: string, threads: number, streams: number, host: "engine" | "host", flashAttention: "auto" | "off"): Promise<Runner> {
  const core = createCore({
    modelsDir: path.dirname(modelPath),
    dataDir: path.join(os.tmpdir(), `marduk-profile-${process.pid}-${host}-${flashAttention}`),
    backend: "cpu",
    threads,
    logger: createSilentLogger(),
    modelHost: "process",
    keepAliveMs: -1,
  });
  const load = { contextSize: contextPerSequence, parallel: streams, flashAttention };
  const model =
    host === "engine" ? await core.engine.loadModel(modelPath, load) : (await core.residency.acquire(core.residency.registerFile(modelPath), { load })).model;
  const counter = host === "engine" ? countBatches((model as unknown as { context: LlamaContext }).context) : undefined;
  const one = async (): Promise<number> => {
    const stream = model.complete(prompt, { temperature: 0, ignoreEos: true, maxTokens });
    for await (const delta of stream) void delta;
    return (await stream.result).usage.completionTokens;
  };
  const run = async (): Promise<Round> => {
    counter?.reset();
    const started = performance.now();
    const tokens = await Promise.all(Array.from({ length: streams }, one));
    const ms = performance.now() - started;
    return {
      tokensPerSecond: (tokens.reduce((sum, count) => sum + count, 0) * 1000) / ms,
      // In a host process the context is out of reach: no batch figures.
      ...(counter ? batchFigures(counter.read(), maxTokens, ms) : {}),
    };
  };
  return { name: `${host === "engine" ? "engine (LoadedModel.complete)" : "process host"}, fa ${flashAttention}`, run, dispose: () => core.dispose() };
}

async function main(): Promise<void> {
  const modelPath = await getBenchModelPath({ ...SMOLLM_135M_SHAPE, type: "q8_0" });
  console.log(`model ${modelPath}, ${maxTokens} tokens per stream, median of ${repeats} interleaved rounds`);
  const flashModes = (process.env.PROFILE_FA ?? "auto,off").split(",") as Array<"auto" | "off">;
  for (const threads of threadCounts) {
    for (const streams of streamCounts) {
      const runners: Runner[] = [];
      if (layers.includes("raw")) for (const name of scheduleNames) runners.push(await rawLayer(modelPath, threads, streams, name));
      for (const fa of flashModes) {
        if (layers.includes("engine")) runners.push(await coreLayer(modelPath, threads, streams, "engine", fa));
        if (layers.includes("host")) runners.push(await coreLayer(modelPath, threads, streams, "host", fa));
      }
      for (const runner of runners) await runner.run(); // warm-up
      const rounds = runners.map(() => [] as Round[]);
      // Interleaved, so drift on a shared machine hits every path alike.
      for (let round = 0; round < repeats; round++) for (const [index, runner] of runners.entries()) rounds[index]!.push(await runner.run());
      for (const runner of runners) await runner.dispose();
      const base = median(rounds[0]!.map((round) => round.tokensPerSecond));
      console.log(`\n${threads} thread(s), ${streams} stream(s):`);
      for (const [index, runner] of runners.entries()) {
        const of = rounds[index]!;
        const tps = median(of.map((round) => round.tokensPerSecond));
        const batching =
          of[0]!.batchesPerStep === undefined
            ? ""
            : `  batches/step ${median(of.map((round) => round.batchesPerStep!)).toFixed(2)}, tokens/batch ${median(of.map((round) => round.tokensPerBatch!)).toFixed(2)}, in llama_decode ${(100 * median(of.map((round) => round.decodeShare!))).toFixed(0)}%`;
        console.log(`  ${runner.name.padEnd(36)} ${tps.toFixed(1).padStart(7)} tok/s  ${(tps / base).toFixed(2)}x${batching}`);
      }
    }
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
