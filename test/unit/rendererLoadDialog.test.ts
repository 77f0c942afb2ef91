/** The load dialog's runtime options (flash attention, KV cache type, batch size, mmap, mlock) and its fit estimate. */
import { describe, expect, it } from "vitest";
import { DEFAULT_LOAD_DIALOG_FORM, estimateKey, toLoadModelOptions } from "../../src/renderer/src/features/models/loadDialogForm.js";
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
