import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkGgufHeader } from "../../src/core/models/library/checkGgufHeader.js";
import { ModelLibrary } from "../../src/core/models/ModelLibrary.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { listGgufFields, mutateGguf } from "../fixtures/gguf/ggufMutator.js";

/**
 * A GGUF mutator over the fixture model: header fields set to boundary values, byte flips,
 * truncations, hostile templates. The library must describe every mutant (ok, or broken with a
 * reason) without throwing, hanging or allocating without bound; the header check must never
 * throw. Bounded: a fixed seed and count, in batches.
 */
const MUTANTS = 240;
const BATCH = 30;
const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("GGUF fuzzing", () => {
  it("walks the fixture's header fields", async () => {
    const { fields, headerEnd } = listGgufFields(await readFile(await getFixtureModelPath()));
    expect(fields.filter((field) => field.kind === "dimCount")).toHaveLength(12);
    expect(headerEnd).toBeGreaterThan(1000);
  });

  it(`describes ${MUTANTS} mutants of the fixture model without throwing or hanging`, async () => {
    const mutants = mutateGguf(await readFile(await getFixtureModelPath()), MUTANTS, 20261201);
    const outcomes = { ok: 0, broken: 0 };
    const startedAt = performance.now();
    let slowest = { name: "", ms: 0 };
    for (let start = 0; start < mutants.length; start += BATCH) {
      const batch = mutants.slice(start, start + BATCH);
      const batchDir = path.join(dir, `batch-${start}`);
      const files = batch.map((mutant, index) => {
        const file = path.join(batchDir, `m${start + index}.gguf`);
        return { mutant, file };
      });
      await import("node:fs/promises").then(({ mkdir }) => mkdir(batchDir, { recursive: true }));
      for (const { mutant, file } of files) writeFileSync(file, mutant.bytes);
      for (const { mutant, file } of files) {
        const checkStarted = performance.now();
        await expect(checkGgufHeader(file), mutant.name).resolves.not.toThrow();
        const ms = performance.now() - checkStarted;
        if (ms > slowest.ms) slowest = { name: mutant.name, ms };
      }
      const library = new ModelLibrary({ modelsDir: batchDir, logger: createSilentLogger(), watch: false });
      try {
        const models = await library.list();
        for (const model of models) {
          if (model.status === "ok") outcomes.ok++;
          else {
            outcomes.broken++;
            expect(model.error, model.id).toEqual(expect.any(String));
          }
        }
      } finally {
        library.dispose();
      }
      await rm(batchDir, { recursive: true, force: true });
    }
    const totalMs = performance.now() - startedAt;
    console.info(`[fuzz] ${MUTANTS} mutants: ${outcomes.ok} ok, ${outcomes.broken} broken in ${Math.round(totalMs)} ms; slowest header check ${slowest.ms.toFixed(1)} ms (${slowest.name})`);
    expect(outcomes.ok + outcomes.broken).toBeGreaterThan(MUTANTS * 0.9);
  }, 120_000);
});
