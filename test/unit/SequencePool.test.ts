import { describe, expect, it } from "vitest";
import { SequencePool } from "../../src/core/engine/SequencePool.js";
import { AbortedError, QueueFullError, QueueTimeoutError } from "../../src/core/errors.js";

describe("SequencePool", () => {
  it("lends free items at once and queues the rest in FIFO order", async () => {
    const pool = new SequencePool(["a", "b"]);
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect(new Set([first.item, second.item])).toEqual(new Set(["a", "b"]));
    const order: number[] = [];
    const third = pool.acquire().then((lease) => (order.push(3), lease));
    const fourth = pool.acquire().then((lease) => (order.push(4), lease));
    expect(pool.state).toEqual({ size: 2, busy: 2, waiting: 2 });
    first.release();
    first.release(); // a second release is ignored
    (await third).release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(pool.state.waiting).toBe(0);
  });

  it("refuses with QueueFullError when the queue is full", async () => {
    const pool = new SequencePool(["a"], { maxQueue: 1 });
    await pool.acquire();
    const waiting = pool.acquire();
    await expect(pool.acquire()).rejects.toBeInstanceOf(QueueFullError);
    pool.dispose();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
  });

  it("times out waiters", async () => {
    const pool = new SequencePool(["a"], { queueTimeoutMs: 20 });
    await pool.acquire();
    await expect(pool.acquire()).rejects.toBeInstanceOf(QueueTimeoutError);
    expect(pool.state.waiting).toBe(0);
  });

  it("drops an aborted waiter and gives its turn to the next", async () => {
    const pool = new SequencePool(["a"]);
    const held = await pool.acquire();
    const controller = new AbortController();
    const aborted = pool.acquire(controller.signal);
    const next = pool.acquire();
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    held.release();
    expect((await next).item).toBe("a");
    await expect(pool.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
  });

  it("reports changes", async () => {
    const states: number[] = [];
    const pool = new SequencePool(["a"], { onChange: (state) => states.push(state.busy) });
    (await pool.acquire()).release();
    expect(states).toEqual([1, 0]);
  });
});

describe("SequencePool item choice", () => {
  it("lends the least recently used free item by default", async () => {
    const pool = new SequencePool(["a", "b", "c"]);
    const first = await pool.acquire();
    expect(first.item).toBe("a");
    first.release();
    // "a" was just used: "b" and "c" have waited longer.
    expect((await pool.acquire()).item).toBe("b");
    expect((await pool.acquire()).item).toBe("c");
    expect((await pool.acquire()).item).toBe("a");
  });

  it("lets a chooser pick among the free items, seen least recently used first", async () => {
    const pool = new SequencePool(["a", "b", "c"]);
    const seen: string[][] = [];
    const lease = await pool.acquire(undefined, (free) => {
      seen.push([...free]);
      return free.indexOf("c");
    });
    expect(lease.item).toBe("c");
    lease.release();
    (await pool.acquire(undefined, (free) => (seen.push([...free]), 99))).release(); // out of range: the LRU one
    expect(seen).toEqual([
      ["a", "b", "c"],
      ["a", "b", "c"],
    ]);
    expect(pool.state.busy).toBe(0);
  });
});
