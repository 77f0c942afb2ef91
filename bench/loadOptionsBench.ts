/**
 * The load options scenario of `npm run bench` (BENCH_SCENARIO=loadoptions; never part of
 * "all"): decode speed, time to first token and memory of the bench model with an f16 or a
 * q8_0 KV cache, flash attention on or off. Each configuration loads in a model host process
 * of its own (the server's default), so that process's resident memory is the model's alone.
 * The prompt is long (BENCH_LO_PROMPT_TOKENS) so that the KV cache and attention matter.
 *
 * Options (env): BENCH_LO_CONTEXT (default 2048), BENCH_LO_PARALLEL (default 4),
 * BENCH_LO_PROMPT_TOKENS (default 1000), BENCH_TOKENS (default 64 here), BENCH_REPEATS
 * (default 3), BENCH_SHAPE, BENCH_TYPE and BENCH_THREADS as for the other scenarios.
 */
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore } from "../src/core/createCore.js";
import type { ModelLoadOptions } from "../src/core/engine/Engine.js";
import type { LocalModel } from "../src/core/engine/LocalModel.js";
import { createSilentLogger } from "../src/core/logger.js";
import type { ChatMessage } from "../src/shared/api/generation.js";
import { HostedModel } from "../src/core/modelhost/HostedModel.js";
import type { RuntimeLoadOptions } from "../src/shared/api/loadOptions.js";
import { getBenchModelPath, type BenchModelShape } from "../test/fixtures/gguf/index.js";
import { median } from "./benchClient.js";

const CONFIGURATIONS: Array<{ name: string; options: RuntimeLoadOptions }> = [
  { name: "f16 KV, flash attention off", options: { kvCacheKeyType: "f16", kvCacheValueType: "f16", flashAttention: "off" } },
  { name: "f16 KV, flash attention on", options: { kvCacheKeyType: "f16", kvCacheValueType: "f16", flashAttention: "on" } },
  { name: "q8_0 KV, flash attention on", options: { kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0", flashAttention: "on" } },
];

interface LoadOptionsRow {
  configuration: string;
  decodeTokensPerSecond: number;
  ttftMs: number;
  /** The host process's resident memory after the runs (Linux only). */
  hostRssBytes?: number;
  /** What the residency admitted the load with. */
  estimatedBytes: number;
}

/** A process's resident memory from /proc (Linux); undefined elsewhere. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== "linux") return undefined;
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) * 1024 : undefined;
}

/** Made-up text of `count` words. */
function words(count: number): string {
  const vocabulary = ["fox", "river", "lantern", "meadow", "copper", "willow", "harbor", "ember"];
  return Array.from({ length: count }, (_, index) => vocabulary[(index * 5 + (index >> 3)) % vocabulary.length]).join(" ");
}

/** A chat whose prompt is about `tokens` long in the model's own tokenizer, the `run`-th of its kind (so runs share no prefix). */
async function longChat(model: LocalModel, tokens: number, run: number): Promise<ChatMessage[]> {
  const chat = (count: number): ChatMessage[] => [{ role: "user", content: `${run}. Continue the story. ${words(count)}` }];
  let count = tokens;
  // Two corrections of the word count bring the token count within a few percent.
  for (let attempt = 0; attempt < 2; attempt++) count = Math.max(1, Math.round((count * tokens) / (await model.countChatTokens(chat(count)))));
  return chat(count);
}

export async function loadOptionsMain(model: { shapeName: string; shape: BenchModelShape; type: "q8_0" | "f16" }): Promise<void> {
  const contextSize = Number(process.env.BENCH_LO_CONTEXT ?? 2048);
  const parallel = Number(process.env.BENCH_LO_PARALLEL ?? 4);
  const promptTokens = Number(process.env.BENCH_LO_PROMPT_TOKENS ?? 1000);
  const maxTokens = Number(process.env.BENCH_TOKENS ?? 64);
  const repeats = Number(process.env.BENCH_REPEATS ?? 3);
  const modelPath = await getBenchModelPath({ ...model.shape, type: model.type });
  const dataDir = path.join(os.tmpdir(), `marduk-bench-lo-${process.pid}`);
  const threads = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
  const core = createCore({ modelsDir: path.dirname(modelPath), dataDir, backend: "auto", threads, logger: createSilentLogger(), modelHost: "process", keepAliveMs: -1 });
  const id = core.residency.registerFile(modelPath);
  const rows: LoadOptionsRow[] = [];
  try {
    for (const { name, options } of CONFIGURATIONS) {
      console.log(`Load options: ${name} (context ${contextSize} x ${parallel})...`);
      const load: ModelLoadOptions = { contextSize, parallel, ...options };
      const lease = await core.residency.acquire(id, { load });
      try {
        const runs = [];
        // The first run warms up; each run's prompt starts differently, so none reuses another's KV cache.
        for (let run = 0; run <= repeats; run++) {
          const messages = await longChat(lease.model, promptTokens, run);
          const result = await lease.model.chat(messages, { temperature: 0, ignoreEos: true, maxTokens }).collect();
          if (run > 0) runs.push(result.timings);
        }
        const memory = core.residency.list().find((state) => state.id === lease.model.id)?.memory;
        rows.push({
          configuration: name,
          decodeTokensPerSecond: median(runs.map((timings) => timings.decodeTokensPerSecond)),
          ttftMs: median(runs.map((timings) => timings.firstTokenMs)),
          hostRssBytes: residentBytes(lease.model instanceof HostedModel ? lease.model.pid : undefined),
          estimatedBytes: memory ? memory.ramBytes + memory.vramBytes : 0,
        });
      } finally {
        lease.release();
        await core.residency.unload(id);
      }
    }
  } finally {
    await core.dispose();
  }
  const mb = (bytes: number | undefined): string => (bytes === undefined ? "n/a" : (bytes / 1e6).toFixed(1));
  console.log(`\nLoad options (${model.shapeName} ${model.type}; prompt ~${promptTokens} tokens, ${maxTokens} generated; median of ${repeats})`);
  console.table(
    rows.map((row) => ({
      configuration: row.configuration,
      "decode tok/s": row.decodeTokensPerSecond.toFixed(1),
      "TTFT ms": row.ttftMs.toFixed(0),
      "host RSS MB": mb(row.hostRssBytes),
      "estimate MB": mb(row.estimatedBytes),
    })),
  );
  mkdirSync("bench-results", { recursive: true });
  const file = path.join("bench-results", "api-bench-load-options.json");
  const results = { date: new Date().toISOString(), model: { shape: model.shapeName, type: model.type }, contextSize, parallel, promptTokens, maxTokens, rows };
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.log(`Wrote ${file}`);
}
