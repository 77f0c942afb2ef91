import { createStore, type StoreApi } from "zustand/vanilla";
import type { AppSettings, MardukApi } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { errorParam, paramRoot } from "../../lib/fieldErrors.js";
import { liveData } from "../../lib/liveData.js";

export interface SettingsState {
  /** null until read. */
  settings: AppSettings | null;
  /** A failure that names no setting. */
  error: string | null;
  /** Failures of an update that name the setting (the core's `param`), shown under its field. */
  fieldErrors: Partial<Record<keyof AppSettings, string>>;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  update(patch: Partial<AppSettings>): Promise<void>;
}

export type SettingsStore = StoreApi<SettingsState>;

/** The settings feature: theme, default model and system prompt. */
export function createSettingsStore(api: MardukApi): SettingsStore {
  return createStore<SettingsState>()((set, get) => ({
    settings: null,
    error: null,
    fieldErrors: {},

    ...liveData(set, {
      subscribe: () => api.settings.onChanged((settings) => set({ settings })),
      load: async () => set({ settings: await api.settings.get() }),
    }),

    async update(patch) {
      const before = get().settings;
      if (before) set({ settings: { ...before, ...patch } });
      try {
        const cleared = Object.fromEntries(Object.keys(patch).map((key) => [key, undefined]));
        set({ settings: await api.settings.update(patch), error: null, fieldErrors: { ...get().fieldErrors, ...cleared } });
      } catch (error) {
        const param = errorParam(error);
        const field = param === undefined ? undefined : paramRoot(param);
        if (field !== undefined && field in patch) set({ settings: before, fieldErrors: { ...get().fieldErrors, [field]: errorMessage(error) } });
        else set({ settings: before, error: errorMessage(error) });
      }
    },
  }));
}
