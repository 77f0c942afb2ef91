import { describe, expect, it } from "vitest";
import type { ChartRow } from "../../src/renderer/src/features/dashboard/chartData.js";
import { thinRows } from "../../src/renderer/src/features/dashboard/thinRows.js";

const rowsOver = (count: number, start = 1_000_000): ChartRow[] =>
  Array.from({ length: count }, (_, index) => ({ time: start + index * 1000, cpu: index % 10, ttft: index === 123 ? 250 : null }));

describe("thinning dashboard rows for drawing", () => {
  it("keeps short series as they are", () => {
    const rows = rowsOver(100);
    expect(thinRows(rows, 150)).toBe(rows);
  });

  it("draws at most the given points, keeping the newest time, peaks and sparse points", () => {
    const rows = rowsOver(300);
    const thinned = thinRows(rows, 150);
    expect(thinned.length).toBeLessThanOrEqual(151);
    expect(thinned.length).toBeGreaterThan(100);
    expect(thinned.at(-1)!.time).toBe(rows.at(-1)!.time);
    expect(Math.max(...thinned.map((row) => row.cpu ?? 0))).toBe(9);
    expect(thinned.filter((row) => row.ttft === 250)).toHaveLength(1);
    expect(thinned.filter((row) => row.ttft !== null && row.ttft !== 250)).toHaveLength(0);
    // The input is not changed.
    expect(rows[0]).toEqual({ time: 1_000_000, cpu: 0, ttft: null });
  });

  it("groups on the clock, so a window that slid by a second keeps its groups", () => {
    const before = thinRows(rowsOver(300), 150);
    const after = thinRows(rowsOver(300, 1_001_000), 150);
    const shared = new Set(before.map((row) => row.time));
    expect(after.filter((row) => shared.has(row.time)).length).toBeGreaterThan(100);
  });
});
