import type { Llama } from "node-llama-cpp";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GenerationResult } from "../../src/shared/api/generation.js";
import type { MetricsSample } from "../../src/shared/contract/metrics.js";
import { createGpuProbe, findOnPath } from "../../src/core/telemetry/gpuProbe.js";
import { SystemSampler, type CpuTimes, type SamplerSources } from "../../src/core/telemetry/SystemSampler.js";

function result(promptTokens: number, completionTokens: number, firstTokenMs: number): GenerationResult {
  return {
    text: "",
    finishReason: "stop",
    usage: { promptTokens, completionTokens },
    timings: { promptMs: 1, firstTokenMs, decodeTokensPerSecond: 10 },
  };
}

function fakeSources(cpu: { current: CpuTimes }): SamplerSources {
  return {
    cpuTimes: () => cpu.current,
    memory: () => ({ usedBytes: 3, totalBytes: 8 }),
    processRss: () => 42,
    engine: () => ({ activeRequests: 1, queuedRequests: 2, models: [{ id: "m", memoryBytes: 100 }] }),
  };
}

describe("SystemSampler", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it("computes CPU % from deltas and rates over the last interval", async () => {
    const cpu = { current: { busy: 0, total: 0 } };
    const sampler = new SystemSampler({ sources: fakeSources(cpu) });
    await sampler.sample(); // baseline
    cpu.current = { busy: 50, total: 200 };
    const now = Date.now();
    sampler.recordTokens(30, now - 1500); // before the window
    sampler.recordTokens(20, now - 500);
    sampler.recordTokens(5, now - 100);
    sampler.recordGeneration(result(40, 25, 80), now - 200);
    sampler.recordGeneration(result(10, 5, 120), now - 50);
    sampler.recordGeneration(result(10, 0, 999), now - 40); // nothing generated: no time to first token
    const sample = await sampler.sample();
    expect(sample).toEqual<MetricsSample>({
      time: now,
      cpuPercent: 25,
      ramUsedBytes: 3,
      ramTotalBytes: 8,
      processRssBytes: 42,
      gpu: null,
      decodeTokensPerSecond: 25,
      promptTokensPerSecond: 60,
      timeToFirstTokenMs: 100,
      activeRequests: 1,
      queuedRequests: 2,
      models: [{ id: "m", memoryBytes: 100 }],
    });
    sampler.dispose();
  });

  it("counts marks added within 10 ms of each other in the window of the newest", async () => {
    const sampler = new SystemSampler({ sources: fakeSources({ current: { busy: 0, total: 0 } }) });
    const now = Date.now();
    // Two generations end 8 ms apart, and the window of the next sample starts between them.
    sampler.recordGeneration(result(36, 10, 2), now - 1002);
    sampler.recordTokens(10, now - 1001);
    sampler.recordGeneration(result(33, 10, 1), now - 994);
    sampler.recordTokens(10, now - 994);
    const sample = await sampler.sample();
    expect(sample.promptTokensPerSecond).toBe(69);
    expect(sample.decodeTokensPerSecond).toBe(20);
    expect(sample.timeToFirstTokenMs).toBe(1);
  });

  it("samples at 1 Hz only while someone listens, keeping the last `capacity` samples", async () => {
    const cpu = { current: { busy: 0, total: 0 } };
    const sampler = new SystemSampler({ sources: fakeSources(cpu), capacity: 3, lingerMs: 0 });
    expect(sampler.running).toBe(false);
    const received: MetricsSample[] = [];
    const stop = sampler.onSample((sample) => received.push(sample));
    expect(sampler.running).toBe(true);
    await vi.advanceTimersByTimeAsync(5000);
    expect(received).toHaveLength(5);
    expect(received[1]!.time - received[0]!.time).toBe(1000);
    // The ring holds the last `capacity` samples.
    expect(sampler.history().map((sample) => sample.time)).toEqual(received.slice(-3).map((sample) => sample.time));
    stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sampler.running).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect(received).toHaveLength(5);
    // Samples older than `capacity` intervals are not history any more.
    expect(sampler.history()).toEqual([]);
    sampler.dispose();
  });

  it("keeps sampling for a while after history() and then stops by itself", async () => {
    const sampler = new SystemSampler({ sources: fakeSources({ current: { busy: 0, total: 0 } }), lingerMs: 3000 });
    expect(sampler.history()).toEqual([]);
    expect(sampler.running).toBe(true);
    await vi.advanceTimersByTimeAsync(3000);
    expect(sampler.history()).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sampler.running).toBe(false);
    sampler.dispose();
  });

  it("dispose stops the timer", async () => {
    const sampler = new SystemSampler({ sources: fakeSources({ current: { busy: 0, total: 0 } }) });
    const listener = vi.fn();
    sampler.onSample(listener);
    sampler.dispose();
    expect(sampler.running).toBe(false);
    await vi.advanceTimersByTimeAsync(3000);
    expect(listener).not.toHaveBeenCalled();
  });
});

describe("GPU probe", () => {
  it("reports no GPU without a runtime, or with a CPU-only one", async () => {
    await expect(createGpuProbe()()).resolves.toBeNull();
    await expect(createGpuProbe({ llama: () => undefined })()).resolves.toBeNull();
    const cpuOnly = { gpu: false, disposed: false } as unknown as Llama;
    await expect(createGpuProbe({ llama: () => cpuOnly })()).resolves.toBeNull();
  });

  it("reads VRAM from llama.cpp and utilization from nvidia-smi, and never fails without it", async () => {
    const llama = {
      gpu: "cuda",
      disposed: false,
      getVramState: async () => ({ total: 8e9, used: 2e9, free: 6e9, unifiedSize: 0 }),
      getGpuDeviceNames: async () => ["Test GPU"],
    } as unknown as Llama;
    await expect(createGpuProbe({ llama: () => llama, nvidiaSmi: false })()).resolves.toEqual({ name: "Test GPU", vramUsedBytes: 2e9, vramTotalBytes: 8e9 });
    // A binary that does not exist (or fails) just leaves the utilization out.
    await expect(createGpuProbe({ llama: () => llama, nvidiaSmi: "/nonexistent/nvidia-smi" })()).resolves.toEqual({
      name: "Test GPU",
      vramUsedBytes: 2e9,
      vramTotalBytes: 8e9,
    });
    expect(findOnPath("definitely-not-a-binary-marduk")).toBeUndefined();
  });
});
