import type { EventSource } from "./common.js";

export interface AppSettings {
  /** Default model for new conversations. */
  defaultModelId?: string;
  /** Default system prompt for new conversations. */
  defaultSystemPrompt: string;
  /** "system" follows the OS. */
  theme: "system" | "light" | "dark";
}

/** The settings group. */
export interface SettingsApi {
  get(): Promise<AppSettings>;
  update(request: Partial<AppSettings>): Promise<AppSettings>;
  onChanged: EventSource<AppSettings>;
}
