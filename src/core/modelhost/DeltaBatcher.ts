import type { GenerationDelta } from "../../shared/api/generation.js";

/**
 * Sends a generation's deltas across a process boundary without a message per token when
 * tokens come faster than messages go: the first delta goes out at once (time to first token
 * never waits), later ones are gathered until the event loop has handled what is pending, then
 * sent together. When the process keeps up, that is still one message per delta; when it is
 * busy, one message carries everything produced since the last one.
 */
export class DeltaBatcher {
  private pending: GenerationDelta[] = [];
  private scheduled = false;
  private sentFirst = false;

  constructor(
    private readonly send: (deltas: GenerationDelta[]) => void,
    /** Runs the flush later. Default: `setImmediate` (after pending I/O). */
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  push(delta: GenerationDelta): void {
    if (!this.sentFirst) {
      this.sentFirst = true;
      this.send([delta]);
      return;
    }
    this.pending.push(delta);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Sends what is pending now (before the generation's result, which must come after its deltas). */
  flush(): void {
    if (this.pending.length === 0) return;
    const deltas = this.pending;
    this.pending = [];
    this.send(deltas);
  }
}
