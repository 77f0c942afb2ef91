import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SequenceStateStore, type StatefulSequence } from "../../src/core/engine/SequenceStateStore.js";

/** A sequence whose "state" is its token list, written as JSON padded to 10 bytes a token. */
class FakeSequence implements StatefulSequence {
  failSaves = false;
  constructor(public contextTokens: number[] = []) {}
  async saveStateToFile(filePath: string): Promise<{ fileSize: number }> {
    if (this.failSaves) throw new Error("disk full");
    const text = JSON.stringify(this.contextTokens).padEnd(this.contextTokens.length * 10);
    await writeFile(filePath, text);
    return { fileSize: text.length };
  }
  async loadStateFromFile(filePath: string): Promise<void> {
    this.contextTokens = JSON.parse(await readFile(filePath, "utf8")) as number[];
  }
  async clearHistory(): Promise<void> {
    this.contextTokens = [];
  }
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, index) => from + index);

let parent: string;
beforeEach(() => {
  parent = mkdtempSync(path.join(os.tmpdir(), "marduk-store-test-"));
});
afterEach(() => rmSync(parent, { recursive: true, force: true }));

const stateFiles = (): string[] => readdirSync(parent).flatMap((folder) => readdirSync(path.join(parent, folder)));

describe("SequenceStateStore", () => {
  it("saves what a reused sequence would lose and restores it for the conversation that returns", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 4 });
    const conversationA = range(0, 20);
    const sequence = new FakeSequence([...conversationA]);
    // Another conversation (sharing 2 tokens) takes the sequence: A's 20 tokens go to disk.
    const promptB = [0, 1, ...range(100, 10)];
    expect(await store.prepare(sequence, promptB)).toBe(false);
    expect(store.stats).toMatchObject({ saved: 1, restored: 0, files: 1 });
    sequence.contextTokens = promptB;
    // A returns with one more turn: its state is loaded, and B's is saved first.
    expect(await store.prepare(sequence, [...conversationA, 7, 7])).toBe(true);
    expect(sequence.contextTokens).toEqual(conversationA);
    expect(store.stats).toMatchObject({ saved: 2, restored: 1, files: 1 });
    await store.dispose();
    expect(readdirSync(parent)).toEqual([]);
  });

  it("neither saves nor restores fewer than minTokens", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 8 });
    const sequence = new FakeSequence(range(0, 10));
    await store.prepare(sequence, range(0, 5)); // loses 5
    expect(store.stats.saved).toBe(0);
    await store.prepare(sequence, [50]); // loses 10
    expect(store.stats.saved).toBe(1);
    sequence.contextTokens = range(0, 4);
    // The saved 10 share 6 more tokens than the sequence does: not worth a load.
    expect(await store.prepare(sequence, range(0, 12))).toBe(false);
    await store.dispose();
  });

  it("keeps at most maxStates and maxBytes, dropping the least recently used", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 1, maxStates: 2, maxBytes: 250 });
    const sequence = new FakeSequence();
    for (const start of [100, 200, 300]) {
      sequence.contextTokens = range(start, 10); // 100 bytes each
      await store.prepare(sequence, [1]);
    }
    expect(store.stats).toMatchObject({ saved: 3, files: 2, bytes: 200 });
    expect(stateFiles()).toHaveLength(2);
    // The oldest (100..) is gone: its prompt finds nothing to restore.
    sequence.contextTokens = [];
    expect(await store.prepare(sequence, range(100, 12))).toBe(false);
    expect(await store.prepare(sequence, range(300, 12))).toBe(true);
    // Bytes bound: one 20-token state (200 bytes) and the 10-token one do not fit in 250.
    sequence.contextTokens = range(400, 20);
    await store.prepare(sequence, [1]);
    expect(store.stats).toMatchObject({ files: 1, bytes: 200 });
    sequence.contextTokens = range(500, 30); // 300 bytes: larger than the bound, never kept
    await store.prepare(sequence, [1]);
    expect(store.stats).toMatchObject({ files: 1, bytes: 200 });
    await store.dispose();
  });

  it("replaces a saved state by one that extends it, and skips one it already holds", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 1 });
    const sequence = new FakeSequence(range(0, 10));
    await store.prepare(sequence, [99]);
    sequence.contextTokens = range(0, 15);
    await store.prepare(sequence, [99]);
    expect(store.stats).toMatchObject({ saved: 2, files: 1, bytes: 150 });
    sequence.contextTokens = range(0, 12);
    await store.prepare(sequence, [99]);
    expect(store.stats).toMatchObject({ saved: 2, files: 1 });
    await store.dispose();
  });

  it("counts a failed save and goes on; saves nothing with maxStates 0", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 1 });
    const sequence = new FakeSequence(range(0, 10));
    sequence.failSaves = true;
    expect(await store.prepare(sequence, [99])).toBe(false);
    expect(store.stats).toMatchObject({ saved: 0, failures: 1, files: 0 });
    expect(stateFiles()).toEqual([]);
    await store.dispose();
    const off = new SequenceStateStore({ dir: parent, maxStates: 0, minTokens: 1 });
    await off.prepare(new FakeSequence(range(0, 10)), [99]);
    expect(off.stats.saved).toBe(0);
    await off.dispose();
  });

  it("leaves alone sequences whose cache cannot drop a tail (checkpointed models)", async () => {
    const store = new SequenceStateStore({ dir: parent, minTokens: 1 });
    const sequence = Object.assign(new FakeSequence(range(0, 10)), { needsCheckpoints: true });
    expect(await store.prepare(sequence, [99])).toBe(false);
    expect(store.stats.saved).toBe(0);
    await store.dispose();
  });

  it("removes folders left by dead processes", async () => {
    const stale = path.join(parent, "marduk-kv-999999999-abc");
    mkdirSync(stale);
    writeFileSync(path.join(stale, "1.state"), "x");
    const store = new SequenceStateStore({ dir: parent, minTokens: 1 });
    await store.prepare(new FakeSequence(range(0, 10)), [99]);
    expect(readdirSync(parent).filter((name) => name.startsWith("marduk-kv-999999999"))).toEqual([]);
    await store.dispose();
  });
});
