import { describe, expect, it } from "vitest";
import { resolveThreadCount } from "../../src/core/llama/resolveThreadCount.js";

describe("resolveThreadCount", () => {
  it("defaults to about one thread per physical core", () => {
    expect(resolveThreadCount(undefined, 2)).toBe(1);
    expect(resolveThreadCount(undefined, 1)).toBe(1);
    expect(resolveThreadCount(undefined, 16)).toBe(8);
  });

  it("never exceeds the machine's cores", () => {
    expect(resolveThreadCount(4, 2)).toBe(2);
    expect(resolveThreadCount(64, 8)).toBe(8);
    expect(resolveThreadCount(3, 8)).toBe(3);
  });

  it("ignores nonsense", () => {
    expect(resolveThreadCount(0, 4)).toBe(2);
    expect(resolveThreadCount(Number.NaN, 4)).toBe(2);
  });
});
