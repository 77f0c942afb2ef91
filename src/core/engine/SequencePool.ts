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

interface Waiter<T> {
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
   * one (default: the least recently used); a waiter gets the next item released (FIFO).
   * @throws QueueFullError at once when the queue is full; QueueTimeoutError or AbortedError while waiting.
   */
  acquire(signal?: AbortSignal, choose?: ItemChooser<T>): Promise<Lease<T>> {
    if (this.disposed) return Promise.reject(new AbortedError("The model is being unloaded"));
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (this.free.length > 0) {
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
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
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
    const next = this.waiters.shift();
    if (next) {
      next.cleanup();
      next.resolve(this.lease(item));
    } else {
      this.free.push(item);
    }
    this.notify();
  }

  private removeWaiter(waiter: Waiter<T>): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
    waiter.cleanup();
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
