/**
 * Residency with the real engine and generated models: just-in-time loads (once for concurrent
 * requests), a short real TTL, LRU eviction and "not enough memory" under small budgets,
 * split models, LoRA adapters and broken files.
 */
import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine/Engine.js";
import { ModelResidency } from "../../src/core/engine/ModelResidency.js";
import { ModelLoadFailedError } from "../../src/core/errors.js";
import { createSilentLogger } from "../../src/core/logger.js";
import type { ResidencyEvent } from "../../src/shared/api/library.js";
import { FIXTURE_SENTENCE, getFixtureModelPath, writeNotGguf } from "../fixtures/gguf/index.js";
import { writeFixtureLora, writeSplitModel } from "../helpers/libraryModels.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

let testCore: TestCore;
let fixture: string;

beforeAll(async () => {
  testCore = createTestCore({ watchModels: false, keepAliveMs: 200, loadDefaults: { contextSize: 256, parallel: 1 } });
  fixture = await getFixtureModelPath();
  for (const name of ["a", "b", "c", "jit", "ttl", "lora-base"]) await copyFile(fixture, path.join(testCore.modelsDir, `${name}.gguf`));
  await writeSplitModel(fixture, testCore.modelsDir, "split", 3);
  await writeFixtureLora(fixture, path.join(testCore.modelsDir, "dog-lora.gguf"));
  await writeNotGguf(path.join(testCore.modelsDir, "corrupt.gguf"));
});
afterAll(() => testCore?.dispose());

/** Resolves with the first residency event that satisfies `predicate`. */
function nextEvent(residency: ModelResidency, predicate: (event: ResidencyEvent) => boolean): Promise<ResidencyEvent> {
  return new Promise((resolve) => {
    const listener = (event: ResidencyEvent): void => {
      if (!predicate(event)) return;
      residency.off("event", listener);
      resolve(event);
    };
    residency.on("event", listener);
  });
}

describe("just-in-time loading", () => {
  it("three concurrent requests for an unloaded model load it once and all answer", async () => {
    const { residency } = testCore.core;
    const loaded: string[] = [];
    residency.on("event", (event) => event.type === "loaded" && loaded.push(event.id));
    const leases = await Promise.all([residency.acquire("jit"), residency.acquire("jit"), residency.acquire("jit.gguf")]);
    try {
      expect(loaded).toEqual(["jit"]);
      expect(new Set(leases.map((lease) => lease.model)).size).toBe(1);
      expect(residency.loadedModels().filter((model) => model.id === "jit")).toHaveLength(1);
      const results = await Promise.all(leases.map((lease) => lease.model.complete("Hi", { temperature: 0 }).collect()));
      for (const result of results) expect(result.text.trim()).toBe(FIXTURE_SENTENCE);
    } finally {
      for (const lease of leases) lease.release();
    }
  });

  it("the engine keeps no registry: each load is its caller's, and disposing it frees it", async () => {
    let loads = 0;
    const engine = new Engine({
      runtime: testCore.core.runtime,
      modelsDir: testCore.modelsDir,
      logger: createSilentLogger(),
      loadDefaults: { contextSize: 256, parallel: 1 },
      onModelLoaded: () => loads++,
    });
    try {
      const [first, second] = await Promise.all([engine.loadModel("c"), engine.loadModel("c.gguf")]);
      expect(loads).toBe(2);
      expect(first).not.toBe(second);
      await engine.unloadModel(first!);
      expect((await second!.complete("Hi", { temperature: 0 }).collect()).text.trim()).toBe(FIXTURE_SENTENCE);
      await engine.unloadModel(second!);
    } finally {
      await engine.dispose();
    }
  });

  it("loads a split model by its id from its first part", async () => {
    const lease = await testCore.core.residency.acquire("split", { keepAliveMs: 0 });
    try {
      expect(lease.model.path).toBe(path.join(testCore.modelsDir, "split-00001-of-00003.gguf"));
      expect((await lease.model.complete("Hi", { temperature: 0 }).collect()).text.trim()).toBe(FIXTURE_SENTENCE);
    } finally {
      lease.release();
    }
  });

  it("reports a broken file with the reason and keeps serving other models", async () => {
    const { residency } = testCore.core;
    const failure = residency.acquire("corrupt");
    await expect(failure).rejects.toBeInstanceOf(ModelLoadFailedError);
    await expect(failure).rejects.toThrow(/Failed to load model 'corrupt': not a valid GGUF file/);
    const lease = await residency.acquire("a", { keepAliveMs: 0 });
    expect(lease.model.id).toBe("a");
    lease.release();
  });
});

describe("idle TTL", () => {
  it("unloads a model after a short real TTL, and a lease keeps it loaded", async () => {
    const { residency } = testCore.core;
    const lease = await residency.acquire("ttl");
    expect(residency.list().find((model) => model.id === "ttl")).toMatchObject({ keepAliveMs: 200, activeRequests: 1 });
    // Leased: well past the TTL, still loaded.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(residency.get("ttl")).toBeDefined();
    const unloaded = nextEvent(residency, (event) => event.type === "unloaded" && event.id === "ttl");
    lease.release();
    expect(await unloaded).toEqual({ type: "unloaded", id: "ttl", reason: "idle" });
    expect(residency.get("ttl")).toBeUndefined();
  });
});

describe("memory budget", () => {
  it("evicts the least recently used idle model under a small budget", async () => {
    const { engine } = testCore.core;
    const estimate = await engine.estimateMemory("a");
    const one = estimate.ramBytes + estimate.vramBytes;
    expect(estimate.ramBytes).toBeGreaterThan((await import("node:fs")).statSync(path.join(testCore.modelsDir, "a.gguf")).size);
    const residency = new ModelResidency(engine, { memoryBudgetBytes: Math.floor(2.5 * one), keepAliveMs: -1 });
    try {
      (await residency.acquire("a")).release();
      (await residency.acquire("b")).release();
      (await residency.acquire("a")).release();
      const evicted = nextEvent(residency, (event) => event.type === "unloaded");
      (await residency.acquire("c")).release();
      expect(await evicted).toEqual({ type: "unloaded", id: "b", reason: "evicted" });
      expect(residency.list().map((model) => model.id)).toEqual(["c", "a"]);
      expect(residency.get("b")).toBeUndefined();
    } finally {
      await residency.dispose();
    }
  });

  it("a model that cannot fit even alone fails with 'not enough memory' and the server goes on", async () => {
    const { engine } = testCore.core;
    const residency = new ModelResidency(engine, { memoryBudgetBytes: 1000 });
    try {
      const failure = residency.acquire("b");
      await expect(failure).rejects.toBeInstanceOf(ModelLoadFailedError);
      await expect(failure).rejects.toThrow(/^Failed to load model 'b': not enough memory: needs \d+(\.\d+)? MB, budget 1\.00 kB$/);
      expect(residency.get("b")).toBeUndefined();
    } finally {
      await residency.dispose();
    }
    const lease = await testCore.core.residency.acquire("b", { keepAliveMs: 0 });
    expect(lease.model.id).toBe("b");
    lease.release();
  });
});

describe("LoRA adapters", () => {
  it("applies a GGUF LoRA adapter at load", async () => {
    const lease = await testCore.core.residency.acquire("lora-base", {
      keepAliveMs: 0,
      load: { lora: [{ path: "dog-lora" }] },
    });
    try {
      const result = await lease.model.complete("Hi", { temperature: 0, maxTokens: 3 }).collect();
      // The adapter outweighs the fixture's chain: the word repeats instead of the sentence.
      expect(result.text.trim()).toBe("dog dog dog");
    } finally {
      lease.release();
    }
  });

  it("fails clearly for a missing adapter or a file that is not an adapter", async () => {
    const { residency } = testCore.core;
    await expect(residency.acquire("lora-base", { load: { lora: [{ path: "missing-adapter" }] } })).rejects.toThrow(
      "Failed to load model 'lora-base': LoRA adapter 'missing-adapter' not found in the models folder",
    );
    await expect(residency.acquire("lora-base", { load: { lora: [{ path: "a" }] } })).rejects.toThrow(/is not a LoRA adapter/);
    await writeFile(path.join(testCore.modelsDir, "broken-adapter.gguf"), "root:x:0:0:root:/root:/bin/bash\n");
    const broken = (await residency.acquire("lora-base", { load: { lora: [{ path: "broken-adapter" }] } }).then(
      () => new Error("loaded"),
      (error: unknown) => error,
    )) as Error;
    expect(broken.message).toMatch(/is not a valid GGUF file/);
    // The file's first bytes never show up in the error.
    expect(broken.message).not.toContain("root");
  });

  it("takes adapters from the models folder only: a path elsewhere is not found, whether or not it exists", async () => {
    const { residency } = testCore.core;
    const outside = path.join(testCore.tempDir, "outside-adapter.gguf");
    await writeFile(outside, "root:x:0:0:root:/root:/bin/bash\n");
    const messages: string[] = [];
    for (const adapter of [outside, path.join(testCore.tempDir, "missing.gguf"), "../outside-adapter", "/etc/shadow"]) {
      const error = (await residency.acquire("lora-base", { load: { lora: [{ path: adapter }] } }).then(() => new Error("loaded"), (caught: unknown) => caught)) as Error;
      messages.push(error.message.replace(adapter, "<adapter>"));
    }
    expect(new Set(messages).size).toBe(1);
    expect(messages[0]).toBe("Failed to load model 'lora-base': LoRA adapter '<adapter>' not found in the models folder");
    expect(testCore.core.residency.get("lora-base")).toBeUndefined();
  });
});
