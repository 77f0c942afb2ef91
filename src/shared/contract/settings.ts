import type { ChatSettings } from "./conversations.js";
import type { EventSource } from "./common.js";

export interface AppSettings {
  /** Default model for new conversations. */
  defaultModelId?: string;
  /** Default system prompt for new conversations. */
  defaultSystemPrompt: string;
  /** "system" follows the OS. */
  theme: "system" | "light" | "dark";
  /** The app's default chat settings (under model defaults and a conversation's own). Default: {} (the core always answers it). */
  defaultChatSettings?: ChatSettings;
}

/** A model's own chat defaults (over the app's, under a conversation's). */
export interface ModelChatDefaults {
  settings: ChatSettings;
  /** Absent: the app's default system prompt. */
  systemPrompt?: string;
}

/** Named chat settings to apply to a conversation. */
export interface ChatPreset {
  name: string;
  settings: ChatSettings;
  /** Absent: applying the preset leaves the system prompt as it is. */
  systemPrompt?: string;
}

/** Where a chat setting's value comes from: the conversation > the model > the app > built in. */
export type ChatSettingSource = "conversation" | "model" | "app" | "builtIn";

export interface ResolvedChatSettings {
  /** The values that apply (fields without any value use the engine's own defaults). */
  settings: ChatSettings;
  /** For each field that has a value, where it came from. */
  sources: Partial<Record<keyof ChatSettings, ChatSettingSource>>;
  /** The system prompt a new conversation with this model gets. */
  defaultSystemPrompt: string;
}

/** The settings group. */
export interface SettingsApi {
  get(): Promise<AppSettings>;
  update(request: Partial<AppSettings>): Promise<AppSettings>;
  /** A model's chat defaults ({ settings: {} } when it has none). */
  modelDefaults(request: { modelId: string }): Promise<ModelChatDefaults>;
  /** Replaces a model's chat defaults (empty settings and no system prompt remove them). */
  setModelDefaults(request: { modelId: string; settings: ChatSettings; systemPrompt?: string }): Promise<ModelChatDefaults>;
  /** Resolves conversation overrides > model defaults > app defaults > built-in values. */
  resolveChat(request: { modelId?: string; overrides?: ChatSettings }): Promise<ResolvedChatSettings>;
  listPresets(): Promise<ChatPreset[]>;
  /** Saves (or replaces, by name) a preset; answers every preset. */
  savePreset(request: ChatPreset): Promise<ChatPreset[]>;
  deletePreset(request: { name: string }): Promise<ChatPreset[]>;
  onChanged: EventSource<AppSettings>;
}
