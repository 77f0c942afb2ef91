/** The load dialog's runtime options (flash attention, KV cache type, batch size, mmap, mlock) and its fit estimate. */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_LOAD_DIALOG_FORM,
  effectiveContextSize,
  estimateKey,
  memoryFit,
  toLoadModelOptions,
  trainedContextWarning,
} from "../../src/renderer/src/features/models/loadDialogForm.js";
import { createModelsStore } from "../../src/renderer/src/features/models/modelsStore.js";
import type { FitEstimate } from "../../src/shared/api/hub.js";
import { createFakeMardukApi, FakeRpcError } from "./rendererFakeApi.js";

describe("the load dialog's form", () => {
  it("sends what it shows by default (auto, f16, mlock off) and leaves mmap and the batch size to the server", () => {
    expect(toLoadModelOptions(DEFAULT_LOAD_DIALOG_FORM)).toEqual({
      options: { gpuLayers: "auto", flashAttention: "auto", kvCacheKeyType: "f16", kvCacheValueType: "f16", useMlock: false, speculative: "off" },
    });
  });

  it("sends the runtime options as chosen, one KV cache type for K and V", () => {
    const form = { ...DEFAULT_LOAD_DIALOG_FORM, flashAttention: "on" as const, kvCacheType: "q4_0" as const, batchSize: "128", useMmap: false, useMlock: true, speculative: "prompt-lookup" as const };
    expect(toLoadModelOptions(form)).toEqual({
      options: { gpuLayers: "auto", flashAttention: "on", kvCacheKeyType: "q4_0", kvCacheValueType: "q4_0", batchSize: 128, useMmap: false, useMlock: true, speculative: "prompt-lookup" },
    });
  });

  it("explains what cannot load before asking the server", () => {
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, kvCacheType: "q8_0", flashAttention: "off" })).toEqual({
      error: expect.stringMatching(/^A q8_0 V cache needs flash attention.*set flash attention to on or auto, or the KV cache type to f16\.$/),
    });
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, batchSize: "9000" })).toEqual({ error: expect.stringMatching(/^The batch size must be an integer from 1 to 8192/) });
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, batchSize: "1.5" })).toEqual({ error: expect.stringMatching(/^Batch size must be a whole number/) });
  });

  it("sends a chosen draft model with speculative draft, and asks for one until it is chosen", () => {
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, speculative: "draft", draftModel: "small" })).toEqual({
      options: expect.objectContaining({ speculative: "draft", draftModel: "small" }),
    });
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, speculative: "draft" })).toEqual({ error: expect.stringMatching(/^Speculative "draft" needs a draft model/) });
    // A draft chosen, then another mode: the draft is not sent.
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, speculative: "off", draftModel: "small" })).toEqual({ options: expect.not.objectContaining({ draftModel: "small" }) });
  });

  it("estimates again only when an option that changes the estimate changes", () => {
    const options = (patch: Partial<typeof DEFAULT_LOAD_DIALOG_FORM>) => {
      const parsed = toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, ...patch });
      if (!("options" in parsed)) throw new Error(parsed.error);
      return parsed.options;
    };
    const base = estimateKey(options({}));
    expect(estimateKey(options({ ttl: "5", useMlock: true }))).toBe(base);
    expect(estimateKey(options({ kvCacheType: "q8_0" }))).not.toBe(base);
    expect(estimateKey(options({ batchSize: "64" }))).not.toBe(base);
    expect(estimateKey(options({ useMmap: false }))).not.toBe(base);
  });
});

function fit(reason: string): FitEstimate {
  const placement = { ramBytes: 1, vramBytes: 0 };
  return {
    verdict: "fits in RAM",
    reason,
    needs: { contextSize: 2048, sequences: 4, totalLayers: 2, cpuOnly: placement, fullGpu: placement },
    machine: { ramTotalBytes: 8, ramFreeBytes: 4, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0 },
    headroomFraction: 0.1,
  };
}

describe("the models store's load estimate", () => {
  it("asks the core with the dialog's options and keeps the last answer", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createModelsStore(api);
    fake.loadEstimate = fit("small");
    await store.getState().estimateLoad("m", { kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0" });
    expect(fake.callsOf("models.estimateLoad")).toEqual([{ id: "m", options: { kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0" } }]);
    expect(store.getState().loadEstimate).toEqual({ id: "m", fit: fit("small"), estimating: false, error: null });
    store.getState().clearLoadEstimate();
    expect(store.getState().loadEstimate).toBeNull();
  });

  it("drops an answer overtaken by a newer request, and shows the core's refusal", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createModelsStore(api);
    fake.loadEstimate = fit("old options");
    const release = fake.holdAnswer("models.estimateLoad");
    const stale = store.getState().estimateLoad("m", { batchSize: 8 });
    fake.loadEstimate = fit("new options");
    await store.getState().estimateLoad("m", { batchSize: 64 });
    release();
    await stale;
    expect(store.getState().loadEstimate?.fit?.reason).toBe("new options");

    fake.failNext("models.estimateLoad", new FakeRpcError("invalid_argument", "This model cannot use flash attention", "options.flashAttention"));
    await store.getState().estimateLoad("m", { flashAttention: "on" });
    expect(store.getState().loadEstimate).toMatchObject({ fit: null, error: "This model cannot use flash attention" });
  });
});

const MB = 1_000_000;
const GB = 1_000_000_000;

/** An estimate on a machine: `cpu` every layer in RAM, `gpu` every layer on the GPU (RAM and VRAM parts). */
function estimateOn(
  machine: Partial<FitEstimate["machine"]>,
  needs: { cpuRam: number; gpuRam?: number; gpuVram?: number; totalLayers?: number },
  verdict: FitEstimate["verdict"] = "fits in RAM",
): FitEstimate {
  return {
    verdict,
    reason: "",
    needs: {
      contextSize: 2048,
      sequences: 4,
      totalLayers: needs.totalLayers ?? 10,
      cpuOnly: { ramBytes: needs.cpuRam, vramBytes: 0 },
      fullGpu: { ramBytes: needs.gpuRam ?? 0, vramBytes: needs.gpuVram ?? 0 },
    },
    machine: { ramTotalBytes: 16 * GB, ramFreeBytes: 10 * GB, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0, ...machine },
    headroomFraction: 0.1,
  };
}

describe("the load dialog's protections", () => {
  it("knows the layer count: a GPU layer count above it is refused, up to it is sent", () => {
    const count = (gpuLayers: string) => toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, gpuMode: "count", gpuLayers }, { layerCount: 23 });
    expect(count("23")).toEqual({ options: expect.objectContaining({ gpuLayers: 23 }) });
    expect(count("24")).toEqual({ error: "GPU layers can be at most 23: the model has 23 layers." });
    // Without a known count there is no upper bound.
    expect(toLoadModelOptions({ ...DEFAULT_LOAD_DIALOG_FORM, gpuMode: "count", gpuLayers: "99" })).toEqual({ options: expect.objectContaining({ gpuLayers: 99 }) });
  });

  it("warns past the trained context, not within it, and counts the server's default as within", () => {
    const form = (contextSize: string) => ({ ...DEFAULT_LOAD_DIALOG_FORM, contextSize });
    expect(effectiveContextSize(form(""), 2048)).toBe(2048);
    expect(effectiveContextSize(form(""), 32768)).toBe(4096);
    expect(effectiveContextSize(form("100000"), 2048)).toBe(100000);
    expect(effectiveContextSize(form("1.5"), 2048)).toBeUndefined();
    expect(trainedContextWarning(100000, 2048)).toMatch(/^This model was trained for 2[,.\s\u00a0]?048 tokens; beyond that its output degrades/);
    expect(trainedContextWarning(2048, 2048)).toBeNull();
    expect(trainedContextWarning(effectiveContextSize(form(""), 2048), 2048)).toBeNull();
    expect(trainedContextWarning(100000, undefined)).toBeNull();
  });

  it("without a GPU counts everything as RAM against the free RAM, less the reserve", () => {
    const fits = memoryFit(estimateOn({ ramFreeBytes: 10 * GB }, { cpuRam: 714 * MB }), "auto");
    expect(fits).toEqual({ ramBytes: 714 * MB, vramBytes: 0, ramFreeBytes: 10 * GB, vramFreeBytes: 0, gpu: false, fits: true, warning: null });
    // 9.5 GB of 10 GB free is within the free memory but not within the 10% reserve.
    const tight = memoryFit(estimateOn({ ramFreeBytes: 10 * GB }, { cpuRam: 9.5 * GB }), "max");
    expect(tight.fits).toBe(false);
    expect(tight.warning).toMatch(/^This load needs 9\.50 GB of RAM but only 10\.0 GB is free: .*smaller quantization\.$/);
  });

  it("with a GPU places the load as the GPU layers say: auto as the verdict, all, none, or a share", () => {
    const machine = { gpu: "cuda" as const, ramFreeBytes: 10 * GB, vramTotalBytes: 8 * GB, vramFreeBytes: 4 * GB };
    const needs = { cpuRam: 3 * GB, gpuRam: 1 * GB, gpuVram: 3 * GB, totalLayers: 10 };
    expect(memoryFit(estimateOn(machine, needs, "fits on GPU"), "auto")).toMatchObject({ ramBytes: 1 * GB, vramBytes: 3 * GB, fits: true });
    expect(memoryFit(estimateOn(machine, needs, "fits in RAM"), "auto")).toMatchObject({ ramBytes: 3 * GB, vramBytes: 0, fits: true });
    expect(memoryFit(estimateOn(machine, needs), "count", 0)).toMatchObject({ ramBytes: 3 * GB, vramBytes: 0 });
    expect(memoryFit(estimateOn(machine, needs), "count", 5)).toMatchObject({ ramBytes: 2 * GB, vramBytes: 1.5 * GB });
    // All layers need 3 GB of VRAM, over the 90% of 3 GB free.
    const full = memoryFit(estimateOn({ ...machine, vramFreeBytes: 3 * GB }, needs), "max");
    expect(full).toMatchObject({ vramBytes: 3 * GB, fits: false });
    expect(full.warning).toMatch(/of VRAM but only 3\.00 GB is free: .*put fewer layers on the GPU\.$/);
    // Unified memory: one pool for both.
    expect(memoryFit(estimateOn({ ...machine, unifiedMemory: true, ramFreeBytes: 5 * GB, vramFreeBytes: 5 * GB }, needs), "max").fits).toBe(true);
  });
});
