/**
 * The speculative decoding scenario of `npm run bench` (BENCH_SCENARIO=speculative; never part
 * of "all"): the same greedy generations without speculation, with prompt lookup and with a
 * draft model, side by side, on a task whose answer repeats its input (the model is asked to
 * continue a text it was given twice, so its continuation runs along the text). Reports decode
 * speed, time to first token, drafted and accepted tokens, and whether the outputs are
 * identical (they must be).
 *
 * Options (env): BENCH_SPEC_MODEL (default ../shared/models/stories260K.gguf, a small trained
 * model; random-weight bench models never repeat their input), BENCH_SPEC_DRAFT (the draft
 * model's file, same vocabulary; default: the model itself, which drafts every token right but
 * costs as much as the model: the mechanism's cost at full acceptance, not a real draft's gain),
 * BENCH_TOKENS (default 128 here), BENCH_REPEATS (default 3), BENCH_THREADS.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createCore } from "../src/core/createCore.js";
import { createSilentLogger } from "../src/core/logger.js";
import type { RuntimeLoadOptions, SpeculativeMode } from "../src/shared/api/loadOptions.js";
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
  // Both files go into a models folder of their own: a draft model is an id of the models folder.
  const modelsDir = path.join(dataDir, "models");
  mkdirSync(modelsDir, { recursive: true });
  copyFileSync(modelPath, path.join(modelsDir, "target.gguf"));
  copyFileSync(path.resolve(process.env.BENCH_SPEC_DRAFT ?? modelPath), path.join(modelsDir, "draft.gguf"));
  const core = createCore({ modelsDir, dataDir, backend: "auto", threads, logger: createSilentLogger(), modelHost: "process", keepAliveMs: -1 });
  const id = "target";
  const prompt = STORY + STORY + "Once upon a time, there was a little girl named Lily.";
  const rows: SpeculativeRow[] = [];
  const configurations: RuntimeLoadOptions[] = [{ speculative: "off" }, { speculative: "prompt-lookup" }, { speculative: "draft", draftModel: "draft" }];
  try {
    for (const options of configurations) {
      const lease = await core.residency.acquire(id, { load: { contextSize: 1024, parallel: 1, ...options } });
      try {
        const runs = [];
        for (let run = 0; run <= repeats; run++) {
          const result = await lease.model.complete(prompt, { temperature: 0, maxTokens }).collect();
          if (run > 0) runs.push(result); // the first run warms up
        }
        rows.push({
          mode: options.speculative!,
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
    rmSync(dataDir, { recursive: true, force: true });
  }
  const off = rows[0]!;
  const draftName = process.env.BENCH_SPEC_DRAFT ? path.basename(process.env.BENCH_SPEC_DRAFT) : "the model itself";
  console.log(`\nSpeculative decoding (${path.basename(modelPath)}, draft: ${draftName}, ${maxTokens} tokens, greedy; median of ${repeats})`);
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
  for (const row of rows.slice(1)) {
    console.log(`${row.mode}: speed ratio to off ${(row.decodeTokensPerSecond / off.decodeTokensPerSecond).toFixed(2)}; identical output: ${row.text === off.text}`);
  }
  mkdirSync("bench-results", { recursive: true });
  const file = path.join("bench-results", "api-bench-speculative.json");
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), model: path.basename(modelPath), draft: draftName, maxTokens, rows }, null, 2));
  console.log(`Wrote ${file}`);
}
