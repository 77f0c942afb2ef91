import { createStore, type StoreApi } from "zustand/vanilla";
import type { MardukApi, MetricsSample, Unsubscribe, UsageSummary } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";

/** The charts show the last 5 minutes. */
export const DASHBOARD_WINDOW_MS = 5 * 60_000;

/** How often the usage and cost card reads the ledger while it is shown. */
export const USAGE_REFRESH_MS = 5_000;

export interface DashboardState {
  /** Oldest first, at most {@link DASHBOARD_WINDOW_MS} before the newest. */
  samples: MetricsSample[];
  loaded: boolean;
  error: string | null;
  /** Requests, tokens and cost per provider since the beginning; null until first read. */
  usage: UsageSummary | null;
  usageError: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  /** Reads the usage ledger (one call; a read already on its way is not doubled). */
  refreshUsage(): Promise<void>;
  /** Reads the usage now and every `intervalMs` (default {@link USAGE_REFRESH_MS}) until the returned function is called. */
  watchUsage(intervalMs?: number): () => void;
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
  let usageRead: Promise<void> | undefined;
  const usageTimers = new Set<ReturnType<typeof setInterval>>();

  return createStore<DashboardState>()((set, get) => ({
    samples: [],
    loaded: false,
    error: null,
    usage: null,
    usageError: null,

    async init() {
      // Subscribe first so no sample falls between the history and the stream.
      unsubscribe ??= api.metrics.onSample((sample) => set({ samples: mergeSamples(get().samples, [sample]) }));
      await get().refresh();
    },

    dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
      for (const timer of usageTimers) clearInterval(timer);
      usageTimers.clear();
    },

    async refresh() {
      try {
        const history = await api.metrics.history();
        set({ samples: mergeSamples(get().samples, history), loaded: true, error: null });
      } catch (error) {
        set({ loaded: true, error: errorMessage(error) });
      }
    },

    refreshUsage() {
      usageRead ??= (async () => {
        try {
          set({ usage: await api.providers.usage({}), usageError: null });
        } catch (error) {
          set({ usageError: errorMessage(error) });
        } finally {
          usageRead = undefined;
        }
      })();
      return usageRead;
    },

    watchUsage(intervalMs = USAGE_REFRESH_MS) {
      void get().refreshUsage();
      const timer = setInterval(() => void get().refreshUsage(), intervalMs);
      usageTimers.add(timer);
      return () => {
        clearInterval(timer);
        usageTimers.delete(timer);
      };
    },
  }));
}
