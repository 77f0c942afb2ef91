/**
 * The speculative decoding scenario of `npm run bench` (BENCH_SCENARIO=speculative; never part
 * of "all"): the same greedy generations with prompt lookup off and on, side by side, on a task
 * whose answer repeats its input (the model is asked to continue a text it was given twice, so
 * its continuation runs along the text). Reports decode speed, time to first token, drafted and
 * accepted tokens, and whether both outputs are identical (they must be).
 *
 * Options (env): BENCH_SPEC_MODEL (default ../shared/models/stories260K.gguf, a small trained
 * model; random-weight bench models never repeat their input), BENCH_TOKENS (default 128 here),
 * BENCH_REPEATS (default 3), BENCH_THREADS.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import type { SpeculativeMode } from "../src/shared/api/loadOptions.js";
import { median } from "./benchClient.js";

const STORY =
  "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine. One day, she saw a big, red ball in the park. " +
  "She ran to the ball and kicked it very high. The ball flew over the tree and landed in the pond. Lily was sad because she could not get her ball. ";

interface SpeculativeRow {
  mode: SpeculativeMode;
  decodeTokensPerSecond: number;
  ttftMs: number;
  draftedTokens: number;
  acceptedTokens: number;
  text: string;
}

export async function speculativeMain(): Promise<void> {
  const defaultModel = fileURLToPath(new URL("../../shared/models/stories260K.gguf", import.meta.url));
  const modelPath = path.resolve(process.env.BENCH_SPEC_MODEL ?? defaultModel);
  if (!existsSync(modelPath)) throw new Error(`No model at ${modelPath}: set BENCH_SPEC_MODEL`);
  const maxTokens = Number(process.env.BENCH_TOKENS ?? 128);
  const repeats = Number(process.env.BENCH_REPEATS ?? 3);
  const threads = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
  const dataDir = path.join(os.tmpdir(), `marduk-bench-spec-${process.pid}`);
  const core = createCore({ modelsDir: path.dirname(modelPath), dataDir, backend: "auto", threads, logger: createSilentLogger(), modelHost: "process", keepAliveMs: -1 });
  const id = core.residency.registerFile(modelPath);
  const prompt = STORY + STORY + "Once upon a time, there was a little girl named Lily.";
  const rows: SpeculativeRow[] = [];
  try {
    for (const mode of ["off", "prompt-lookup"] as const) {
      const lease = await core.residency.acquire(id, { load: { contextSize: 1024, parallel: 1, speculative: mode } });
      try {
        const runs = [];
        for (let run = 0; run <= repeats; run++) {
          const result = await lease.model.complete(prompt, { temperature: 0, maxTokens }).collect();
          if (run > 0) runs.push(result); // the first run warms up
        }
        rows.push({
          mode,
          decodeTokensPerSecond: median(runs.map((result) => result.timings.decodeTokensPerSecond)),
          ttftMs: median(runs.map((result) => result.timings.firstTokenMs)),
          draftedTokens: runs.reduce((sum, result) => sum + (result.speculation?.draftedTokens ?? 0), 0) / runs.length,
          acceptedTokens: runs.reduce((sum, result) => sum + (result.speculation?.acceptedTokens ?? 0), 0) / runs.length,
          text: runs[0]!.text,
        });
      } finally {
        lease.release();
        await core.residency.unload(id);
      }
    }
  } finally {
    await core.dispose();
  }
  const [off, on] = rows as [SpeculativeRow, SpeculativeRow];
  console.log(`\nSpeculative decoding (${path.basename(modelPath)}, ${maxTokens} tokens, greedy; median of ${repeats})`);
  console.table(
    rows.map((row) => ({
      mode: row.mode,
      "decode tok/s": row.decodeTokensPerSecond.toFixed(1),
      "TTFT ms": row.ttftMs.toFixed(1),
      "drafted/gen": row.draftedTokens.toFixed(0),
      "accepted/gen": row.acceptedTokens.toFixed(0),
      acceptance: row.draftedTokens > 0 ? `${((100 * row.acceptedTokens) / row.draftedTokens).toFixed(0)}%` : "-",
    })),
  );
  console.log(`speed ratio on/off: ${(on.decodeTokensPerSecond / off.decodeTokensPerSecond).toFixed(2)}; identical output: ${on.text === off.text}`);
  mkdirSync("bench-results", { recursive: true });
  const file = path.join("bench-results", "api-bench-speculative.json");
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), model: path.basename(modelPath), maxTokens, rows }, null, 2));
  console.log(`Wrote ${file}`);
}
