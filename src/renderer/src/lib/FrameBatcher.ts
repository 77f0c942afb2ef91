import type { FrameScheduler } from "./frameScheduler.js";

/**
 * Collects items that arrive faster than the screen can show them and hands them over in one
 * batch per frame. The first `push` after a flush asks the scheduler for a frame; later pushes
 * only append. `flush()` hands over what is pending at once (before an event that must come
 * after the items, such as the end of a stream).
 */
export class FrameBatcher<Item> {
  private pending: Item[] = [];
  private cancelFrame: (() => void) | undefined;
  private disposed = false;

  constructor(
    private readonly scheduler: FrameScheduler,
    private readonly onFlush: (items: Item[]) => void,
  ) {}

  /** Items waiting for the next frame. */
  get size(): number {
    return this.pending.length;
  }

  push(item: Item): void {
    if (this.disposed) return;
    this.pending.push(item);
    if (this.cancelFrame) return;
    let ran = false;
    const cancel = this.scheduler(() => {
      ran = true;
      this.runFrame();
    });
    // A scheduler may run the callback at once; then there is nothing left to cancel.
    if (!ran) this.cancelFrame = cancel;
  }

  /** Hands over the pending items now and cancels the scheduled frame. */
  flush(): void {
    this.cancelFrame?.();
    this.runFrame();
  }

  /** Drops pending items and stops scheduling frames. */
  dispose(): void {
    this.cancelFrame?.();
    this.cancelFrame = undefined;
    this.pending = [];
    this.disposed = true;
  }

  private runFrame(): void {
    this.cancelFrame = undefined;
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.onFlush(items);
  }
}
