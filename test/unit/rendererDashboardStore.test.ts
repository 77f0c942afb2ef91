import { describe, expect, it } from "vitest";
import { DASHBOARD_WINDOW_MS, createDashboardStore, mergeSamples } from "../../src/renderer/src/features/dashboard/dashboardStore.js";
import { modelIds, peak, toChartRows } from "../../src/renderer/src/features/dashboard/chartData.js";
import { createFakeMardukApi, sample } from "./rendererFakeApi.js";

describe("dashboard store", () => {
  it("subscribes before reading the history, so no sample falls in between, and keeps 5 minutes", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.history = [sample(1000), sample(2000)];
    const store = createDashboardStore(api);
    const release = fake.hold("metrics.history");
    const init = store.getState().init();
    // A sample arrives while the history is on its way.
    fake.samples.emit(sample(3000, { decodeTokensPerSecond: 500 }));
    release();
    await init;
    expect(store.getState().samples.map((s) => s.time)).toEqual([1000, 2000, 3000]);
    expect(store.getState().loaded).toBe(true);

    fake.samples.emit(sample(3000 + DASHBOARD_WINDOW_MS));
    expect(store.getState().samples.map((s) => s.time)).toEqual([3000 + DASHBOARD_WINDOW_MS]);
    store.getState().dispose();
    expect(fake.samples.listenerCount).toBe(0);
  });

  it("reports a history failure", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.failNext("metrics.history", new Error("no metrics"));
    const store = createDashboardStore(api);
    await store.getState().init();
    expect(store.getState()).toMatchObject({ loaded: true, error: "no metrics" });
  });

  it("merges by time (newer copies win) and orders oldest first", () => {
    const merged = mergeSamples([sample(2), sample(1)], [sample(2, { cpuPercent: 99 }), sample(3)]);
    expect(merged.map((s) => [s.time, s.cpuPercent])).toEqual([
      [1, 10],
      [2, 99],
      [3, 10],
    ]);
  });

  it("turns samples into chart rows with GPU, TTFT gaps and a column per model", () => {
    const samples = [
      sample(1, { models: [{ id: "a/b.c", memoryBytes: 2e9 }], timeToFirstTokenMs: 12.4, gpu: { name: "RTX", utilizationPercent: 50, vramUsedBytes: 1e9, vramTotalBytes: 8e9 } }),
      sample(2, { decodeTokensPerSecond: 1234.56 }),
    ];
    const rows = toChartRows(samples);
    expect(rows[0]).toMatchObject({ time: 1, "model:a/b.c": 2000, ttft: 12, gpuUtil: 50, vramUsed: 1, vramTotal: 8, ramUsed: 4, ramTotal: 16 });
    expect(rows[1]).toMatchObject({ ttft: null, gpuUtil: null, decode: 1234.6 });
    expect(modelIds(samples)).toEqual(["a/b.c"]);
    expect(peak(samples, (s) => s.decodeTokensPerSecond)).toBe(1234.56);
  });
});
