/** Clock of the router's breakers, cool-downs and cache, injected so tests control time. */
export interface RouterClock {
  now(): number;
}

export const systemRouterClock: RouterClock = { now: () => Date.now() };

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default: 3. */
  failureThreshold?: number;
  /** Time an open circuit waits before one probe request may pass (half-open), in ms. Default: 30000. */
  cooldownMs?: number;
  /** Default: {@link systemRouterClock}. */
  clock?: RouterClock;
}

export type CircuitState = "closed" | "open" | "half-open";

export const DEFAULT_FAILURE_THRESHOLD = 3;
export const DEFAULT_BREAKER_COOLDOWN_MS = 30_000;

/**
 * One target's circuit breaker: opens after N consecutive failures, lets one probe through
 * after a cool-down (half-open), closes on a success and opens again on a failure. A 429's
 * Retry-After pauses the target for that long without counting as a failure.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private probing = false;
  private pausedUntil = 0;
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly clock: RouterClock;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = Math.max(1, options.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD);
    this.cooldownMs = Math.max(0, options.cooldownMs ?? DEFAULT_BREAKER_COOLDOWN_MS);
    this.clock = options.clock ?? systemRouterClock;
  }

  get state(): CircuitState {
    if (this.openedAt === undefined) return "closed";
    return this.clock.now() - this.openedAt >= this.cooldownMs ? "half-open" : "open";
  }

  /** Consecutive failures so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** When the target may be tried again (ms since the epoch); 0 when it may now. */
  get availableAt(): number {
    const now = this.clock.now();
    const reopensAt = this.openedAt === undefined ? 0 : this.openedAt + this.cooldownMs;
    const at = Math.max(this.pausedUntil, this.state === "open" ? reopensAt : 0);
    return at > now ? at : 0;
  }

  /** True when a request may go to the target now (without taking the half-open probe). */
  get available(): boolean {
    if (this.clock.now() < this.pausedUntil) return false;
    const state = this.state;
    return state === "closed" || (state === "half-open" && !this.probing);
  }

  /** Takes the right to send a request; false when the circuit is open or its probe is out. */
  tryPass(): boolean {
    if (!this.available) return false;
    if (this.state === "half-open") this.probing = true;
    return true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  recordFailure(): void {
    this.failures++;
    this.probing = false;
    if (this.openedAt !== undefined || this.failures >= this.failureThreshold) this.openedAt = this.clock.now();
  }

  /** The target asked to be left alone (429 with Retry-After) for `ms`. */
  pause(ms: number): void {
    this.probing = false;
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }

  /** Gives back a half-open probe that was taken but not used (the request went elsewhere). */
  release(): void {
    this.probing = false;
  }
}
