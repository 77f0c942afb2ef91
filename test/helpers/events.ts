/** Waiting on contract events (`onX` sources) in tests, instead of sleeping. */
import type { EventSource, Unsubscribe } from "../../src/shared/contract/common.js";

/** Resolves with the first payload of `source` that passes `accept`; rejects after `timeoutMs`. */
export function waitForEvent<T>(source: EventSource<T>, accept: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let unsubscribe: Unsubscribe = () => undefined;
    const timer = setTimeout(() => {
      settled = true;
      unsubscribe();
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for an event`));
    }, timeoutMs);
    unsubscribe = source((payload) => {
      if (settled || !accept(payload)) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(payload);
    });
    // A source that calls its listener before returning cannot be unsubscribed from inside it.
    if (settled) unsubscribe();
  });
}

/** Resolves with the first event of `source` whose `type` is `type` (a discriminated union's member). */
export function waitForEventOfType<E extends { type: string }, T extends E["type"]>(source: EventSource<E>, type: T, timeoutMs?: number): Promise<Extract<E, { type: T }>> {
  return waitForEvent(source, (event) => event.type === type, timeoutMs) as Promise<Extract<E, { type: T }>>;
}
