/**
 * Runtime load options end to end with the fixture model: flash attention, quantized KV
 * caches, the batch size and mmap reach llama.cpp (in this process and in a model host
 * process), the model still gives its exact greedy output, what it runs with is reported, the
 * memory estimate follows the options, and combinations llama.cpp refuses are 400s naming the option.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { GgmlType } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../../src/core/engine/LoadedModel.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { HostedModel } from "../../src/core/modelhost/HostedModel.js";
import type { EffectiveLoadOptions, RuntimeLoadOptions } from "../../src/shared/api/loadOptions.js";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

const FAST_SMALL: RuntimeLoadOptions = { flashAttention: "on", kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0", batchSize: 64, useMmap: false };
const FAST_SMALL_EFFECTIVE: EffectiveLoadOptions = {
  flashAttention: "on",
  kvCacheKeyType: "q8_0",
  kvCacheValueType: "q8_0",
  batchSize: 64,
  useMmap: false,
  useMlock: false,
      speculative: "off",
};
const hello = [{ role: "user" as const, content: "Hello there" }];

function totalBytes(estimate: { ramBytes: number; vramBytes: number }): number {
  return estimate.ramBytes + estimate.vramBytes;
}

describe("runtime load options in this process", () => {
  let testCore: TestCore;
  let model: LoadedModel | undefined;

  beforeAll(async () => {
    testCore = createTestCore({ modelHost: "in-process" });
    copyFileSync(await getFixtureModelPath(), path.join(testCore.modelsDir, "fixture.gguf"));
  });
  afterAll(async () => {
    await model?.dispose();
    await testCore?.dispose();
  });

  it("loads with flash attention, a q8_0 KV cache, batch 64 and no mmap, and generates the exact greedy output", async () => {
    model = await testCore.core.engine.loadModel("fixture", { contextSize: 1024, parallel: 2, ...FAST_SMALL });
    expect(model.info.loadOptions).toEqual(FAST_SMALL_EFFECTIVE);
    // What node-llama-cpp created the context with, not only what was reported.
    expect([model.context.kvCacheKeyType, model.context.kvCacheValueType, model.context.batchSize, model.model.useMmap]).toEqual([GgmlType.Q8_0, GgmlType.Q8_0, 64, false]);
    expect((await model.chat(hello, { temperature: 0 }).collect()).text).toBe(FIXTURE_SENTENCE);
    expect((await model.complete("Once upon a time", { temperature: 0 }).collect()).text.trim()).toBe(FIXTURE_SENTENCE);
  });

  it("reports llama.cpp's defaults when no option is given", async () => {
    const plain = await testCore.core.engine.loadModel("fixture", { contextSize: 256, parallel: 1 });
    try {
      expect(plain.info.loadOptions).toEqual({ flashAttention: "auto", kvCacheKeyType: "f16", kvCacheValueType: "f16", batchSize: 256, useMmap: true, useMlock: false, speculative: "off" });
    } finally {
      await plain.dispose();
    }
  });

  it("estimates less memory for a q8_0 KV cache than for f16, and less again for q4_0", async () => {
    const { engine } = testCore.core;
    const base = { contextSize: 2048, parallel: 4, flashAttention: "on" } as const;
    const f16 = totalBytes(await engine.estimateMemory("fixture", { ...base, kvCacheKeyType: "f16", kvCacheValueType: "f16" }));
    const q8 = totalBytes(await engine.estimateMemory("fixture", { ...base, kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0" }));
    const q4 = totalBytes(await engine.estimateMemory("fixture", { ...base, kvCacheKeyType: "q4_0", kvCacheValueType: "q4_0" }));
    expect(q8).toBeLessThan(f16);
    expect(q4).toBeLessThan(q8);
  });

  it("refuses a quantized V cache with flash attention off, before llama.cpp fails on it", async () => {
    const { engine } = testCore.core;
    const bad = { kvCacheValueType: "q8_0", flashAttention: "off" } as const;
    for (const attempt of [engine.loadModel("fixture", bad), engine.estimateMemory("fixture", bad)]) {
      await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(attempt).rejects.toMatchObject({ param: "kvCacheValueType", message: expect.stringMatching(/needs flash attention/) });
    }
  });

  it("turns auto flash attention on for a quantized V cache (llama.cpp needs it)", async () => {
    const quantized = await testCore.core.engine.loadModel("fixture", { contextSize: 256, parallel: 1, kvCacheValueType: "q4_0" });
    try {
      expect(quantized.info.loadOptions).toMatchObject({ flashAttention: "on", kvCacheKeyType: "f16", kvCacheValueType: "q4_0" });
      expect((await quantized.chat(hello, { temperature: 0 }).collect()).text).toBe(FIXTURE_SENTENCE);
    } finally {
      await quantized.dispose();
    }
  });

  it("the contract's estimate follows the options, and its load refuses a bad combination naming it", async () => {
    const { models } = testCore.core.contract;
    const f16 = await models.estimateLoad({ id: "fixture", options: { contextSize: 2048, kvCacheKeyType: "f16", kvCacheValueType: "f16" } });
    const q8 = await models.estimateLoad({ id: "fixture", options: { contextSize: 2048, kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0" } });
    expect(q8.needs.contextSize).toBe(2048);
    expect(totalBytes(q8.needs.cpuOnly)).toBeLessThan(totalBytes(f16.needs.cpuOnly));
    const bad = { id: "fixture", options: { kvCacheValueType: "q8_0", flashAttention: "off" } } as const;
    await expect(models.load(bad)).rejects.toMatchObject({ code: "invalid_argument", param: "options.kvCacheValueType" });
    await expect(models.estimateLoad(bad)).rejects.toMatchObject({ code: "invalid_argument", param: "options.kvCacheValueType" });
    await expect(models.load({ id: "fixture", options: { batchSize: 0 } })).rejects.toMatchObject({ param: "options.batchSize" });
    expect(testCore.core.residency.list()).toEqual([]);
  });
});

describe("runtime load options over HTTP, in a model host process", () => {
  let server: TestServer;

  beforeAll(async () => {
    // The server's defaults, as `serve --flash-attention on --kv-cache-type q8_0 --batch-size 64 --no-mmap` sets them.
    server = await startTestServer({ loadDefaults: { contextSize: 1024, parallel: 2, ...FAST_SMALL } });
  });
  afterAll(() => server?.dispose());

  it("the host loads with the server's options, generates the exact output, and /health and /api/ps report them", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: hello, temperature: 0, cache: false }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);

    const hosted = server.core.residency.get("fixture");
    expect(hosted).toBeInstanceOf(HostedModel);
    expect((hosted as HostedModel).pid).not.toBe(process.pid);
    expect(hosted!.info.loadOptions).toEqual(FAST_SMALL_EFFECTIVE);

    const health = (await (await fetch(`${server.url}/health`)).json()) as { models: { id: string; loadOptions?: EffectiveLoadOptions }[] };
    expect(health.models.find((model) => model.id === "fixture")?.loadOptions).toEqual(FAST_SMALL_EFFECTIVE);
    const ps = (await (await fetch(`${server.url}/api/ps`)).json()) as { models: { name: string; load_options?: Record<string, unknown> }[] };
    expect(ps.models.find((model) => model.name === "fixture:latest")?.load_options).toEqual({
      flash_attention: "on",
      kv_cache_type_k: "q8_0",
      kv_cache_type_v: "q8_0",
      num_batch: 64,
      use_mmap: false,
      use_mlock: false,
    });
  });

  it("Ollama's num_batch and use_mmap apply when a request loads the model; bad ones are 400s naming them", async () => {
    await server.core.residency.unload("fixture");
    const bad = await fetch(`${server.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", prompt: "Hi", stream: false, options: { num_batch: 0 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/num_batch/);

    const generated = await fetch(`${server.url}/api/generate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", prompt: "Hi", stream: false, options: { temperature: 0, num_batch: 32, use_mmap: true } }),
    });
    expect(generated.status).toBe(200);
    expect(((await generated.json()) as { response: string }).response).toBe(FIXTURE_SENTENCE);
    // The request's options over the server's defaults (q8_0 KV and flash attention stay).
    expect(server.core.residency.get("fixture")!.info.loadOptions).toEqual({ ...FAST_SMALL_EFFECTIVE, batchSize: 32, useMmap: true });
  });

  it("the host refuses an option the server's defaults make impossible, with a 400 and the server going on", async () => {
    await server.core.residency.unload("fixture");
    const refused = await server.core.contract.models.load({ id: "fixture", options: { flashAttention: "off" } }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "invalid_argument", param: "kvCacheValueType" });
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });
});
