import { describe, expect, it } from "vitest";
import { SequencePool } from "../../src/core/engine/SequencePool.js";

describe("SequencePool priorities", () => {
  it("never gives background work the last free item of a larger pool", async () => {
    const pool = new SequencePool(["a", "b"]);
    const background = await pool.acquire(undefined, undefined, "background");
    let secondBackground = false;
    const queued = pool.acquire(undefined, undefined, "background").then((lease) => ((secondBackground = true), lease));
    // The one item left is kept for interactive work: an interactive request gets it at once.
    const interactive = await pool.acquire();
    expect(pool.state).toEqual({ size: 2, busy: 2, waiting: 1 });
    interactive.release();
    await Promise.resolve();
    expect(secondBackground).toBe(false);
    background.release();
    (await queued).release();
    expect(secondBackground).toBe(true);
    expect(pool.state).toEqual({ size: 2, busy: 0, waiting: 0 });
  });

  it("serves interactive waiters before background ones queued earlier", async () => {
    const pool = new SequencePool(["a"]);
    const held = await pool.acquire();
    const order: string[] = [];
    const background = pool.acquire(undefined, undefined, "background").then((lease) => (order.push("background"), lease));
    const interactive = pool.acquire().then((lease) => (order.push("interactive"), lease));
    held.release();
    (await interactive).release();
    (await background).release();
    expect(order).toEqual(["interactive", "background"]);
  });

  it("lets background work use a pool of one item when no one else waits", async () => {
    const pool = new SequencePool(["a"]);
    const lease = await pool.acquire(undefined, undefined, "background");
    expect(lease.item).toBe("a");
    lease.release();
  });

  it("hands a background waiter the free item once the interactive waiter before it gives up", async () => {
    const pool = new SequencePool(["a", "b"]);
    const first = await pool.acquire();
    const second = await pool.acquire();
    const controller = new AbortController();
    const interactive = pool.acquire(controller.signal);
    const background = pool.acquire(undefined, undefined, "background");
    first.release(); // goes to the interactive waiter
    const interactiveLease = await interactive;
    second.release(); // one free: background keeps waiting
    expect(pool.state.waiting).toBe(1);
    interactiveLease.release(); // two free: background runs
    (await background).release();
    expect(pool.state).toEqual({ size: 2, busy: 0, waiting: 0 });
    controller.abort();
  });
});
