import { describe, expect, it } from "vitest";
import { formatProgressLine } from "../../src/cli/commands/pull.js";
import { backoffDelayMs, sleep } from "../../src/core/models/downloads/backoff.js";
import { formatBytes, formatDuration } from "../../src/core/models/downloads/formatBytes.js";
import { Semaphore } from "../../src/core/models/downloads/Semaphore.js";

describe("backoffDelayMs", () => {
  it("doubles per attempt up to the cap, with jitter between half and all of it", () => {
    expect(backoffDelayMs(1, 1000, 30_000, () => 1)).toBe(1000);
    expect(backoffDelayMs(1, 1000, 30_000, () => 0)).toBe(500);
    expect(backoffDelayMs(3, 1000, 30_000, () => 1)).toBe(4000);
    expect(backoffDelayMs(20, 1000, 30_000, () => 1)).toBe(30_000);
  });

  it("sleep rejects when aborted", async () => {
    const controller = new AbortController();
    const slept = sleep(10_000, controller.signal);
    controller.abort(new Error("stop"));
    await expect(slept).rejects.toThrow("stop");
  });
});

describe("Semaphore", () => {
  it("lets at most `capacity` holders run, first come first served", async () => {
    const semaphore = new Semaphore(2);
    const releaseA = await semaphore.acquire();
    const releaseB = await semaphore.acquire();
    const order: string[] = [];
    const c = semaphore.acquire().then((release) => (order.push("c"), release));
    const d = semaphore.acquire().then((release) => (order.push("d"), release));
    await Promise.resolve();
    expect(semaphore.running).toBe(2);
    expect(semaphore.waiting).toBe(2);
    releaseA();
    releaseA(); // idempotent
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    releaseB();
    (await d)();
    releaseC();
    expect(semaphore.running).toBe(0);
  });

  it("drops a waiter whose signal aborts", async () => {
    const semaphore = new Semaphore(1);
    const release = await semaphore.acquire();
    const controller = new AbortController();
    const waiting = semaphore.acquire(controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
    expect(semaphore.waiting).toBe(0);
    release();
    expect(semaphore.running).toBe(0);
  });
});

describe("progress formatting", () => {
  it("formats bytes and durations", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1_500)).toBe("1.50 kB");
    expect(formatBytes(5_670_912)).toBe("5.67 MB");
    expect(formatBytes(1_234_000_000)).toBe("1.23 GB");
    expect(formatDuration(5)).toBe("5s");
    expect(formatDuration(187)).toBe("3m07s");
    expect(formatDuration(3720)).toBe("1h02m");
    expect(formatDuration(undefined)).toBe("?");
  });

  it("draws a bar with percent, bytes, speed and ETA", () => {
    const line = formatProgressLine({
      id: "x",
      ref: "hf:o/r:Q8_0",
      state: "downloading",
      receivedBytes: 50_000_000,
      totalBytes: 100_000_000,
      resumedFromBytes: 0,
      bytesPerSecond: 10_000_000,
      etaSeconds: 5,
      part: 1,
      parts: 1,
      attempt: 2,
      startedAt: 0,
    });
    expect(line).toBe("[############------------]  50%  50.0 MB / 100 MB  10.0 MB/s  ETA 5s  (attempt 2)");
  });
});
