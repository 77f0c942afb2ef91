/**
 * Finds stop strings in streamed text. Text that could still be the start of a stop string is
 * held back until it is known not to be one, so no part of a stop string is ever emitted.
 */
export class StopStringMatcher {
  private held = "";
  private done = false;
  private matched: string | undefined;

  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop string was seen; later pushes return nothing. */
  get stopped(): boolean {
    return this.done;
  }

  /** The stop string that was seen (the earliest in the text), once {@link stopped}. */
  get matchedStop(): string | undefined {
    return this.matched;
  }

  /** Adds streamed text; returns the text that is safe to emit now. */
  push(text: string): string {
    if (this.done) return "";
    this.held += text;
    let firstStop = -1;
    for (const stop of this.stops) {
      const index = this.held.indexOf(stop);
      if (index >= 0 && (firstStop < 0 || index < firstStop)) {
        firstStop = index;
        this.matched = stop;
      }
    }
    if (firstStop >= 0) {
      this.done = true;
      const emitted = this.held.slice(0, firstStop);
      this.held = "";
      return emitted;
    }
    // Hold back the longest tail that is a prefix of some stop string.
    let keep = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.held.length); length > keep; length--) {
        if (this.held.endsWith(stop.slice(0, length))) {
          keep = length;
          break;
        }
      }
    }
    const emitted = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return emitted;
  }

  /** The held-back text, once the stream has ended without a stop. */
  flush(): string {
    const rest = this.done ? "" : this.held;
    this.held = "";
    return rest;
  }
}
