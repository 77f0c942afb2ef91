import { createStore, type StoreApi } from "zustand/vanilla";
import type { AppSettings, MardukApi, Unsubscribe } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";

export interface SettingsState {
  /** null until read. */
  settings: AppSettings | null;
  error: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  update(patch: Partial<AppSettings>): Promise<void>;
}

export type SettingsStore = StoreApi<SettingsState>;

/** The settings feature: theme, default model and system prompt. */
export function createSettingsStore(api: MardukApi): SettingsStore {
  let unsubscribe: Unsubscribe | undefined;

  return createStore<SettingsState>()((set, get) => ({
    settings: null,
    error: null,

    async init() {
      unsubscribe ??= api.settings.onChanged((settings) => set({ settings }));
      await get().refresh();
    },

    dispose() {
      unsubscribe?.();
      unsubscribe = undefined;
    },

    async refresh() {
      try {
        set({ settings: await api.settings.get() });
      } catch (error) {
        set({ error: errorMessage(error) });
      }
    },

    async update(patch) {
      const before = get().settings;
      if (before) set({ settings: { ...before, ...patch } });
      try {
        set({ settings: await api.settings.update(patch), error: null });
      } catch (error) {
        set({ settings: before, error: errorMessage(error) });
      }
    },
  }));
}
