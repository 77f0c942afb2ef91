import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkGgufHeader } from "../../src/core/models/library/checkGgufHeader.js";
import { checkChatTemplate, validateModelMetadata } from "../../src/core/models/library/validateModelMetadata.js";
import { ModelLibrary } from "../../src/core/models/ModelLibrary.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { CRAFTED_FLAWS, getFixtureModelPath, writeCraftedModel } from "../fixtures/gguf/index.js";

/**
 * Crafted GGUF files (the kind behind llama.cpp's and Ollama's GGUF CVEs) are listed as broken
 * with a precise reason, from their header alone: nothing hands them to llama.cpp or the chat
 * template engine, and no header makes the reader loop or allocate.
 */
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "marduk-crafted-"));
  for (const flaw of CRAFTED_FLAWS) await writeCraftedModel(flaw, path.join(dir, `${flaw}.gguf`));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("crafted GGUF files", () => {
  it("the library lists each as broken with the reason, and the fixture as ok", async () => {
    const library = new ModelLibrary({ modelsDir: dir, logger: createSilentLogger(), watch: false });
    try {
      const startedAt = performance.now();
      const models = new Map((await library.list()).map((model) => [model.id, model]));
      console.info(`[crafted] listed ${models.size} crafted files in ${Math.round(performance.now() - startedAt)} ms`);
      const reasons = Object.fromEntries(CRAFTED_FLAWS.map((flaw) => [flaw, models.get(flaw)?.status === "broken" ? models.get(flaw)?.error : "ok"]));
      expect(reasons).toEqual({
        hugeBlockCount: "llama.block_count is 2147483648 (it must be 1–512)",
        zeroHeadCount: "llama.attention.head_count is 0 (it must be 1–65536)",
        zeroKvHeadCount: "llama.attention.head_count_kv is 0 (it must be 1–65536)",
        hugeTensorDims: "tensor 11 has 2147483648 dimensions (at most 4)",
        loopingTemplate: "the chat template loops a million times or more (range with a huge bound)",
      });
    } finally {
      library.dispose();
    }
  });

  it("the header check passes real files and bounds every count by the file's size", async () => {
    expect(await checkGgufHeader(await getFixtureModelPath())).toBeUndefined();
    expect(await checkGgufHeader(path.join(dir, "hugeTensorDims.gguf"))).toMatch(/dimensions/);
    expect(await checkGgufHeader(path.join(dir, "missing.gguf"))).toMatch(/could not be read \(ENOENT\)/);
  });

  it("the metadata checks accept per-layer head counts with attention-free layers", () => {
    expect(validateModelMetadata({ general: { architecture: "x" }, x: { block_count: 2, attention: { head_count: [8, 0], head_count_kv: [2, 0] } } })).toBeUndefined();
    expect(validateModelMetadata({ general: { architecture: "x" }, x: { attention: { head_count: [0, 0] } } })).toBe("x.attention.head_count is 0 for every layer");
    expect(checkChatTemplate("{% for message in messages %}{{ message.content }}{% endfor %}")).toBeUndefined();
    expect(checkChatTemplate("{{ 'a' * 100000000 }}")).toMatch(/repeats/);
    expect(checkChatTemplate("{% for i in range(0, 50000000) %}{% endfor %}")).toMatch(/loops/);
  });
});

describe("crafted GGUF files over HTTP", () => {
  it("a request naming one gets model_load_failed with the reason, and the server goes on", async () => {
    const { startTestServer } = await import("../helpers/testServer.js");
    const server = await startTestServer();
    try {
      for (const flaw of CRAFTED_FLAWS) await writeCraftedModel(flaw, path.join(server.modelsDir, `${flaw}.gguf`));
      for (const flaw of CRAFTED_FLAWS) {
        const response = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: flaw, messages: [{ role: "user", content: "Hi" }] }),
        });
        const body = (await response.json()) as { error: { code: string; message: string } };
        expect(response.status, flaw).toBe(500);
        expect(body.error.code, flaw).toBe("model_load_failed");
        expect(body.error.message, flaw).toMatch(new RegExp(`^Failed to load model '${flaw}': `));
      }
      const ok = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fixture", messages: [{ role: "user", content: "Hi" }], temperature: 0 }),
      });
      expect(ok.status).toBe(200);
    } finally {
      await server.dispose();
    }
  });
});

describe("crafted GGUF files in `inspect`", () => {
  it("reports each one's flaw and exits 1, never aborting inside llama.cpp", async () => {
    const { execFile } = await import("node:child_process");
    const { CLI_PATH } = await import("../helpers/serveProcess.js");
    for (const flaw of CRAFTED_FLAWS) {
      const outcome = await new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI_PATH, "inspect", path.join(dir, `${flaw}.gguf`)], { timeout: 60_000 }, (error, _stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, signal: (error as { signal?: string } | null)?.signal ?? null, stderr }),
        );
      });
      expect(outcome.signal, flaw).toBeNull();
      expect(outcome.code, flaw).toBe(1);
      expect(outcome.stderr, flaw).toMatch(/block_count|head_count|dimensions|chat template/);
    }
  }, 120_000);
});
