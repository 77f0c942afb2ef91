import { EventEmitter } from "node:events";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { AppSettings, SettingsApi } from "../../shared/contract/settings.js";
import type { SettingsStore } from "../storage/SettingsStore.js";
import { parseRequest, updateSettingsRequest } from "./requestSchemas.js";

/** Setting key of the app's settings object. */
export const APP_SETTINGS_KEY = "app";

export const DEFAULT_APP_SETTINGS: AppSettings = { defaultSystemPrompt: "", theme: "system" };

const THEMES: readonly AppSettings["theme"][] = ["system", "light", "dark"];

/** Reads stored settings defensively (another version may have written them). */
function sanitize(value: unknown): AppSettings {
  const stored = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const settings: AppSettings = { ...DEFAULT_APP_SETTINGS };
  if (typeof stored.defaultModelId === "string" && stored.defaultModelId !== "") settings.defaultModelId = stored.defaultModelId;
  if (typeof stored.defaultSystemPrompt === "string") settings.defaultSystemPrompt = stored.defaultSystemPrompt;
  if (THEMES.includes(stored.theme as AppSettings["theme"])) settings.theme = stored.theme as AppSettings["theme"];
  return settings;
}

/** The settings group: the app's preferences, stored in SQLite. */
export class SettingsService implements SettingsApi {
  private readonly events = new EventEmitter<{ changed: [AppSettings] }>();

  constructor(private readonly store: SettingsStore) {}

  /** The settings now (synchronous, for the other services). */
  current(): AppSettings {
    return sanitize(this.store.read(APP_SETTINGS_KEY));
  }

  async get(): Promise<AppSettings> {
    return this.current();
  }

  /** Changes the given fields; an empty `defaultModelId` removes the default model. */
  async update(request: Partial<AppSettings>): Promise<AppSettings> {
    const patch = parseRequest(updateSettingsRequest, request);
    const next: AppSettings = { ...this.current() };
    if (patch.defaultModelId !== undefined) {
      if (patch.defaultModelId === "") delete next.defaultModelId;
      else next.defaultModelId = patch.defaultModelId;
    }
    if (patch.defaultSystemPrompt !== undefined) next.defaultSystemPrompt = patch.defaultSystemPrompt;
    if (patch.theme !== undefined) next.theme = patch.theme;
    this.store.write(APP_SETTINGS_KEY, next);
    this.events.emit("changed", next);
    return next;
  }

  onChanged = (listener: (settings: AppSettings) => void): Unsubscribe => {
    this.events.on("changed", listener);
    return () => this.events.off("changed", listener);
  };

  dispose(): void {
    this.events.removeAllListeners();
  }
}
