import { AbortedError, QueueFullError, QueueTimeoutError } from "../errors.js";

/** Options of {@link SequencePool}. */
export interface SequencePoolOptions {
  /** Most requests that may wait for a free item; one more is refused with QueueFullError. Default: 64. */
  maxQueue?: number;
  /** Longest a request waits before QueueTimeoutError. Default: 120000 ms. */
  queueTimeoutMs?: number;
  /** Called whenever the number of busy items or waiters changes (for metrics). */
  onChange?: (state: SequencePoolState) => void;
}

export interface SequencePoolState {
  size: number;
  busy: number;
  waiting: number;
}

/** A borrowed item; release it exactly once (later calls are ignored). */
export interface Lease<T> {
  readonly item: T;
  release(): void;
}

/**
 * Who asks: an interactive request (a client waiting for its answer) or background work (a
 * batch line). Background work waits behind every interactive waiter and, in a pool of more
 * than one item, never takes the last free item: an interactive request always finds one free
 * unless other interactive requests hold them all.
 */
export type RequestPriority = "interactive" | "background";

interface Waiter<T> {
  priority: RequestPriority;
  resolve(lease: Lease<T>): void;
  reject(error: Error): void;
  cleanup(): void;
}

/**
 * Picks which free item a request gets, given the free items least recently used first;
 * returns an index into `free`.
 */
export type ItemChooser<T> = (free: readonly T[]) => number;

/**
 * A fixed set of items (context sequences) lent out first come, first served.
 * Pure logic with no llama.cpp inside, so admission and queueing are unit-tested without a model.
 * Free items are kept least recently used first: without a chooser a request gets the one
 * idle longest, and a chooser (the prefix match) sees them in that order for its tie-breaks.
 */
export class SequencePool<T> {
  /** Least recently released first. */
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  private readonly maxQueue: number;
  private readonly queueTimeoutMs: number;
  private readonly onChange?: (state: SequencePoolState) => void;
  private disposed = false;

  constructor(
    private readonly items: readonly T[],
    options: SequencePoolOptions = {},
  ) {
    this.free = [...items];
    this.maxQueue = options.maxQueue ?? 64;
    this.queueTimeoutMs = options.queueTimeoutMs ?? 120_000;
    this.onChange = options.onChange;
  }

  get state(): SequencePoolState {
    return { size: this.items.length, busy: this.items.length - this.free.length, waiting: this.waiters.length };
  }

  /**
   * Resolves with a lease as soon as an item is free. When several are free, `choose` picks
   * one (default: the least recently used); a waiter gets the next item released (FIFO among
   * interactive waiters, then among background ones; see {@link RequestPriority}).
   * @param priority Default: "interactive".
   * @throws QueueFullError at once when the queue is full; QueueTimeoutError or AbortedError while waiting.
   */
  acquire(signal?: AbortSignal, choose?: ItemChooser<T>, priority: RequestPriority = "interactive"): Promise<Lease<T>> {
    if (this.disposed) return Promise.reject(new AbortedError("The model is being unloaded"));
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (priority === "interactive" ? this.free.length > 0 : this.backgroundMayTakeFree()) {
      const chosen = this.free.length > 1 && choose ? choose(this.free) : 0;
      const index = Number.isInteger(chosen) && chosen >= 0 && chosen < this.free.length ? chosen : 0;
      const [item] = this.free.splice(index, 1) as [T];
      this.notify();
      return Promise.resolve(this.lease(item));
    }
    if (this.waiters.length >= this.maxQueue) {
      return Promise.reject(new QueueFullError(this.retryAfterSeconds()));
    }
    return new Promise<Lease<T>>((resolve, reject) => {
      const onAbort = (): void => {
        this.removeWaiter(waiter);
        reject(new AbortedError());
      };
      const timer = setTimeout(() => {
        this.removeWaiter(waiter);
        reject(new QueueTimeoutError(this.queueTimeoutMs));
      }, this.queueTimeoutMs);
      const waiter: Waiter<T> = {
        priority,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // Interactive waiters go before every background one, in arrival order among themselves.
      const firstBackground = this.waiters.findIndex((queued) => queued.priority === "background");
      if (priority === "interactive" && firstBackground >= 0) this.waiters.splice(firstBackground, 0, waiter);
      else this.waiters.push(waiter);
      this.notify();
    });
  }

  /** Rejects every waiter; leases already out stay valid until released. */
  dispose(): void {
    this.disposed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new AbortedError("The model is being unloaded"));
    }
    this.notify();
  }

  private lease(item: T): Lease<T> {
    let released = false;
    return {
      item,
      release: () => {
        if (released) return;
        released = true;
        this.handBack(item);
      },
    };
  }

  private handBack(item: T): void {
    this.free.push(item);
    this.serveWaiters();
    this.notify();
  }

  /** Background work may take a free item when no interactive request waits and one stays free for interactive work (unless the pool has one item only). */
  private backgroundMayTakeFree(): boolean {
    if (this.waiters.some((waiter) => waiter.priority === "interactive")) return false;
    return this.free.length >= (this.items.length > 1 ? 2 : 1);
  }

  /** Hands free items to waiters in queue order, as far as their priority allows. */
  private serveWaiters(): void {
    while (this.free.length > 0 && this.waiters.length > 0) {
      const next = this.waiters[0]!;
      if (next.priority === "background" && !this.backgroundMayTakeFree()) return;
      this.waiters.shift();
      next.cleanup();
      // The least recently used, as `acquire` gives without a chooser.
      next.resolve(this.lease(this.free.shift()!));
    }
  }

  private removeWaiter(waiter: Waiter<T>): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    waiter.cleanup();
    // A background waiter behind it may now take a free item.
    this.serveWaiters();
    this.notify();
  }

  /** A rough hint for clients: how long until the queue has likely drained a slot. */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.waiters.length / Math.max(1, this.items.length)));
  }

  private notify(): void {
    this.onChange?.(this.state);
  }
}
