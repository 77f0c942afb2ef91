import { describe, expect, it } from "vitest";
import { FrameBatcher } from "../../src/renderer/src/lib/FrameBatcher.js";
import { immediateScheduler } from "../../src/renderer/src/lib/frameScheduler.js";
import { createManualScheduler } from "./rendererFakeApi.js";

describe("FrameBatcher", () => {
  it("asks for one frame per batch and hands over everything pushed before it", () => {
    const frames = createManualScheduler();
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>(frames.scheduler, (items) => batches.push(items));
    for (let i = 0; i < 100; i++) batcher.push(i);
    expect(frames.waiting).toBe(1);
    expect(batcher.size).toBe(100);
    frames.frame();
    batcher.push(100);
    frames.frame();
    expect(batches).toEqual([Array.from({ length: 100 }, (_, i) => i), [100]]);
    expect(frames.frame()).toBe(0);
  });

  it("flush() hands over at once and cancels the frame", () => {
    const frames = createManualScheduler();
    const batches: string[][] = [];
    const batcher = new FrameBatcher<string>(frames.scheduler, (items) => batches.push(items));
    batcher.push("a");
    batcher.push("b");
    batcher.flush();
    expect(batches).toEqual([["a", "b"]]);
    expect(frames.waiting).toBe(0);
    batcher.flush();
    expect(batches).toHaveLength(1);
  });

  it("drops everything once disposed", () => {
    const frames = createManualScheduler();
    const batches: string[][] = [];
    const batcher = new FrameBatcher<string>(frames.scheduler, (items) => batches.push(items));
    batcher.push("a");
    batcher.dispose();
    batcher.push("b");
    frames.frame();
    batcher.flush();
    expect(batches).toEqual([]);
  });

  it("works with a scheduler that runs at once", () => {
    const batches: number[][] = [];
    const batcher = new FrameBatcher<number>(immediateScheduler, (items) => batches.push(items));
    batcher.push(1);
    batcher.push(2);
    expect(batches).toEqual([[1], [2]]);
  });
});
