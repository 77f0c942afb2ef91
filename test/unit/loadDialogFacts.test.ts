/** What the load dialog and the library learn from the core: a model's layer count, and the context a loaded model runs with. */
import { EventEmitter } from "node:events";
import type { GgufFileInfo } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { ModelsService, type ModelsServiceDeps } from "../../src/core/contract/ModelsService.js";
import { summarizeGguf } from "../../src/core/models/library/summarizeGguf.js";
import type { LoadedModelState } from "../../src/shared/api/library.js";

describe("the library's layer count and the loaded models' context", () => {
  it("reads the layer count from the block count, plus the output layer; none for an adapter", () => {
    const info = (general: Record<string, unknown>, architectureMetadata: Record<string, unknown>) =>
      ({ metadata: { general }, architectureMetadata, tensorInfo: [], fullTensorInfo: [] }) as unknown as GgufFileInfo;
    const names = () => undefined;
    expect(summarizeGguf(info({ architecture: "llama" }, { block_count: 22, context_length: 2048 }), "m.gguf", names).layerCount).toBe(23);
    expect(summarizeGguf(info({ architecture: "llama" }, {}), "m.gguf", names).layerCount).toBeUndefined();
    expect(summarizeGguf(info({ architecture: "llama", type: "adapter" }, { block_count: 22 }), "a.gguf", names).layerCount).toBeUndefined();
  });

  it("tells the loaded models' context size and sequences, in the list and in its change events", async () => {
    const state: LoadedModelState = { id: "m", state: "loaded", lastUsedAt: 1, activeRequests: 0, keepAliveMs: 1, memory: { ramBytes: 1, vramBytes: 0 } };
    const loading: LoadedModelState = { ...state, id: "other", state: "loading" };
    const residency = Object.assign(new EventEmitter(), {
      list: () => [state, loading],
      get: (id: string) => (id === "m" ? { info: { contextSize: 100000, parallel: 2, stats: { modelBytes: 300, contextBytes: 200 } } } : undefined),
    });
    const service = new ModelsService({ residency } as unknown as ModelsServiceDeps);
    // The memory is the same figure the dashboard and /metrics show: weights plus context.
    expect(await service.loaded()).toEqual([{ ...state, contextSize: 100000, parallel: 2, memoryBytes: 500 }, loading]);
    const events: LoadedModelState[][] = [];
    const unsubscribe = service.onLoadedChanged((models) => events.push(models));
    residency.emit("changed", [state]);
    unsubscribe();
    residency.emit("changed", [state]);
    expect(events).toEqual([[{ ...state, contextSize: 100000, parallel: 2, memoryBytes: 500 }]]);
  });
});
