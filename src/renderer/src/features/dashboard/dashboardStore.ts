import { createStore, type StoreApi } from "zustand/vanilla";
import type { MardukApi, MetricsSample, Unsubscribe } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";

/** The charts show the last 5 minutes. */
export const DASHBOARD_WINDOW_MS = 5 * 60_000;

export interface DashboardState {
  /** Oldest first, at most {@link DASHBOARD_WINDOW_MS} before the newest. */
  samples: MetricsSample[];
  loaded: boolean;
  error: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
}

export type DashboardStore = StoreApi<DashboardState>;

/** Merges samples by time (newer copies win), oldest first, trimmed to the window. */
export function mergeSamples(current: MetricsSample[], incoming: MetricsSample[], windowMs = DASHBOARD_WINDOW_MS): MetricsSample[] {
  const byTime = new Map<number, MetricsSample>();
  for (const sample of current) byTime.set(sample.time, sample);
  for (const sample of incoming) byTime.set(sample.time, sample);
  const merged = [...byTime.values()].sort((a, b) => a.time - b.time);
  const newest = merged[merged.length - 1]?.time ?? 0;
  return merged.filter((sample) => sample.time > newest - windowMs);
}

/** The dashboard feature: the history, then one sample a second. */
export function createDashboardStore(api: MardukApi): DashboardStore {
  let unsubscribe: Unsubscribe | undefined;

  return createStore<DashboardState>()((set, get) => ({
    samples: [],
    loaded: false,
    error: null,

    async init() {
      // Subscribe first so no sample falls between the history and the stream.
      unsubscribe ??= api.metrics.onSample((sample) => set({ samples: mergeSamples(get().samples, [sample]) }));
      await get().refresh();
    },

    dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
    },

    async refresh() {
      try {
        const history = await api.metrics.history();
        set({ samples: mergeSamples(get().samples, history), loaded: true, error: null });
      } catch (error) {
        set({ loaded: true, error: errorMessage(error) });
      }
    },
  }));
}
