import type { Unsubscribe } from "../../../shared/contract/index.js";
import { errorMessage } from "./errorMessage.js";

/** Where a store's data comes from: the core's change events, and a read of it all. */
export interface LiveDataSource {
  /** Subscribes to the change events that keep the store current. */
  subscribe(): Unsubscribe;
  /** Reads the data and puts it in the store; may throw. */
  load(): Promise<void>;
}

/** A store's `init`, `dispose` and `refresh`, as {@link liveData} makes them. */
export interface LiveData {
  /** Subscribes (once, until `dispose`), then reads the data. */
  init(): Promise<void>;
  /** Ends the subscription. */
  dispose(): void;
  /** Reads the data again; a failure goes to the store's `error` instead of being thrown. */
  refresh(): Promise<void>;
}

/**
 * The loading most feature stores share: subscribe to the core's change events on `init`, read
 * the data, and show a failed read as the store's `error`. Spread the result into the store's
 * state; `set` is the store's own.
 */
export function liveData(set: (patch: { error: string }) => void, source: LiveDataSource): LiveData {
  let unsubscribe: Unsubscribe | undefined;

  const refresh = async (): Promise<void> => {
    try {
      await source.load();
    } catch (error) {
      set({ error: errorMessage(error) });
    }
  };

  return {
    async init() {
      unsubscribe ??= source.subscribe();
      await refresh();
    },

    dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
    },

    refresh,
  };
}
