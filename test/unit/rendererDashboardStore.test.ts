import { afterEach, describe, expect, it, vi } from "vitest";
import type { UsageRow } from "../../src/shared/contract/index.js";
import { DASHBOARD_WINDOW_MS, USAGE_REFRESH_MS, createDashboardStore, mergeSamples } from "../../src/renderer/src/features/dashboard/dashboardStore.js";
import { modelIds, peak, toChartRows } from "../../src/renderer/src/features/dashboard/chartData.js";
import { providerLabel, usageByProvider } from "../../src/renderer/src/features/dashboard/usageData.js";
import { formatUsd } from "../../src/renderer/src/lib/format.js";
import { createFakeMardukApi, sample, usageSummary } from "./rendererFakeApi.js";

function usageRow(provider: string, model: string, extra: Partial<UsageRow> = {}): UsageRow {
  return { provider, model, keyId: null, requests: 1, errors: 0, cacheHits: 0, promptTokens: 10, completionTokens: 20, meanLatencyMs: 5, costUsd: 0, savedUsd: 0, ...extra };
}

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

describe("usage and cost", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads the ledger while watched, every few seconds, one call at a time, and stops when unwatched", async () => {
    vi.useFakeTimers();
    const { api, fake } = createFakeMardukApi();
    fake.usage = usageSummary({ requests: 3, localRequests: 2, localShare: 2 / 3, costUsd: 0.01 });
    const store = createDashboardStore(api);
    await store.getState().init();
    expect(fake.callsOf("providers.usage")).toHaveLength(0);

    const unwatch = store.getState().watchUsage();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState().usage).toMatchObject({ requests: 3, costUsd: 0.01 });
    expect(fake.callsOf("providers.usage")).toEqual([{}]);

    // A slow answer is not doubled by the next tick.
    const release = fake.hold("providers.usage");
    fake.usage = usageSummary({ requests: 4 });
    await vi.advanceTimersByTimeAsync(USAGE_REFRESH_MS * 2);
    expect(fake.callsOf("providers.usage")).toHaveLength(2);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState().usage?.requests).toBe(4);

    fake.failNext("providers.usage", new Error("ledger unavailable"));
    await vi.advanceTimersByTimeAsync(USAGE_REFRESH_MS);
    expect(store.getState()).toMatchObject({ usageError: "ledger unavailable", usage: { requests: 4 } });

    unwatch();
    const calls = fake.callsOf("providers.usage").length;
    await vi.advanceTimersByTimeAsync(USAGE_REFRESH_MS * 3);
    expect(fake.callsOf("providers.usage")).toHaveLength(calls);
  });

  it("stops every watch on dispose", async () => {
    vi.useFakeTimers();
    const { api, fake } = createFakeMardukApi();
    const store = createDashboardStore(api);
    store.getState().watchUsage(1000);
    await vi.advanceTimersByTimeAsync(0);
    store.getState().dispose();
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.callsOf("providers.usage")).toHaveLength(1);
  });

  it("sums the ledger's rows per provider, busiest first", () => {
    const rows = [
      usageRow("upstream-1", "m1", { requests: 2, errors: 1, costUsd: 0.002, promptTokens: 100 }),
      usageRow("local", "fixture", { requests: 5, savedUsd: 0.004 }),
      usageRow("upstream-1", "m2", { requests: 2, costUsd: 0.001, keyId: "abc" }),
      usageRow("cache", "m1", { requests: 1, cacheHits: 1 }),
    ];
    expect(usageByProvider(rows)).toEqual([
      { provider: "local", requests: 5, errors: 0, cacheHits: 0, promptTokens: 10, completionTokens: 20, costUsd: 0, savedUsd: 0.004 },
      { provider: "upstream-1", requests: 4, errors: 1, cacheHits: 0, promptTokens: 110, completionTokens: 40, costUsd: 0.003, savedUsd: 0 },
      { provider: "cache", requests: 1, errors: 0, cacheHits: 1, promptTokens: 10, completionTokens: 20, costUsd: 0, savedUsd: 0 },
    ]);
    expect(["local", "cache", "openai"].map(providerLabel)).toEqual(["This machine", "Response cache", "openai"]);
  });

  it("formats dollars with enough digits for small amounts", () => {
    expect([0, 12.345, 0.5, 0.0042, 0.000012, 1e-9, -2].map(formatUsd)).toEqual(["$0", "$12.35", "$0.50", "$0.0042", "$0.000012", "<$0.000001", "-$2.00"]);
    expect(formatUsd(Number.NaN)).toBe("—");
  });
});
