import { EventEmitter } from "node:events";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { ChatSettings } from "../../shared/contract/conversations.js";
import type {
  AppSettings,
  ChatPreset,
  ChatSettingSource,
  ModelChatDefaults,
  ResolvedChatSettings,
  SettingsApi,
} from "../../shared/contract/settings.js";
import { InvalidArgumentError } from "../errors.js";
import type { SettingsStore } from "../storage/SettingsStore.js";
import {
  chatSettingsSchema,
  deletePresetRequest,
  modelDefaultsRequest,
  parseRequest,
  resolveChatRequest,
  savePresetRequest,
  setModelDefaultsRequest,
  updateSettingsRequest,
} from "./requestSchemas.js";

/** Setting key of the app's settings object. */
export const APP_SETTINGS_KEY = "app";

/** Setting key of the named chat presets. */
export const CHAT_PRESETS_KEY = "chatPresets";

/** Setting key of a model's chat defaults. */
export const modelDefaultsKey = (modelId: string): string => `modelDefaults:${modelId}`;

export const DEFAULT_APP_SETTINGS: AppSettings = { defaultSystemPrompt: "", theme: "system", defaultChatSettings: {} };

/**
 * The values under every other level. Truncate middle by default: a long chat keeps working
 * (unlike "stop at limit", whose next message fails once the context is full), and unlike a
 * rolling window it keeps the first exchange, where people usually state the task.
 */
export const BUILT_IN_CHAT_SETTINGS: ChatSettings = { contextOverflow: "truncateMiddle" };

const MAX_PRESETS = 100;

/** Chat settings read back from storage: invalid ones are dropped, not trusted. */
function sanitizeChatSettings(value: unknown): ChatSettings {
  const parsed = chatSettingsSchema.safeParse(value);
  return parsed.success ? parsed.data : {};
}

function sanitizeModelDefaults(value: unknown): ModelChatDefaults {
  const stored = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  return {
    settings: sanitizeChatSettings(stored.settings),
    ...(typeof stored.systemPrompt === "string" ? { systemPrompt: stored.systemPrompt } : {}),
  };
}

function sanitizePresets(value: unknown): ChatPreset[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown): ChatPreset[] => {
    const stored = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : {};
    if (typeof stored.name !== "string" || stored.name === "") return [];
    return [{ name: stored.name, settings: sanitizeChatSettings(stored.settings), ...(typeof stored.systemPrompt === "string" ? { systemPrompt: stored.systemPrompt } : {}) }];
  });
}

/** Layers chat settings: each later layer's defined fields win, and each field remembers its layer. */
export function resolveChatSettings(layers: ReadonlyArray<readonly [ChatSettingSource, ChatSettings]>): Pick<ResolvedChatSettings, "settings" | "sources"> {
  const settings: Record<string, unknown> = {};
  const sources: Record<string, ChatSettingSource> = {};
  for (const [source, layer] of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      settings[key] = value;
      sources[key] = source;
    }
  }
  return { settings: settings as ChatSettings, sources: sources as ResolvedChatSettings["sources"] };
}

const THEMES: readonly AppSettings["theme"][] = ["system", "light", "dark"];

/** Reads stored settings defensively (another version may have written them). */
function sanitize(value: unknown): AppSettings {
  const stored = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  const settings: AppSettings = { ...DEFAULT_APP_SETTINGS };
  if (typeof stored.defaultModelId === "string" && stored.defaultModelId !== "") settings.defaultModelId = stored.defaultModelId;
  if (typeof stored.defaultSystemPrompt === "string") settings.defaultSystemPrompt = stored.defaultSystemPrompt;
  if (THEMES.includes(stored.theme as AppSettings["theme"])) settings.theme = stored.theme as AppSettings["theme"];
  settings.defaultChatSettings = sanitizeChatSettings(stored.defaultChatSettings);
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
    if (patch.defaultChatSettings !== undefined) next.defaultChatSettings = patch.defaultChatSettings;
    this.store.write(APP_SETTINGS_KEY, next);
    this.events.emit("changed", next);
    return next;
  }

  /** A model's chat defaults now (synchronous, for the other services). */
  currentModelDefaults(modelId: string): ModelChatDefaults {
    return sanitizeModelDefaults(this.store.read(modelDefaultsKey(modelId)));
  }

  async modelDefaults(request: { modelId: string }): Promise<ModelChatDefaults> {
    return this.currentModelDefaults(parseRequest(modelDefaultsRequest, request).modelId);
  }

  async setModelDefaults(request: { modelId: string; settings: ChatSettings; systemPrompt?: string }): Promise<ModelChatDefaults> {
    const { modelId, settings, systemPrompt } = parseRequest(setModelDefaultsRequest, request);
    const defaults: ModelChatDefaults = { settings, ...(systemPrompt !== undefined ? { systemPrompt } : {}) };
    if (Object.keys(settings).length === 0 && systemPrompt === undefined) this.store.delete(modelDefaultsKey(modelId));
    else this.store.write(modelDefaultsKey(modelId), defaults);
    return defaults;
  }

  /** Conversation overrides > the model's defaults > the app's > built in (synchronous, for the chat group). */
  resolve(modelId: string | undefined, overrides: ChatSettings = {}): ResolvedChatSettings {
    const app = this.current();
    const model = modelId !== undefined ? this.currentModelDefaults(modelId) : { settings: {} };
    return {
      ...resolveChatSettings([
        ["builtIn", BUILT_IN_CHAT_SETTINGS],
        ["app", app.defaultChatSettings ?? {}],
        ["model", model.settings],
        ["conversation", overrides],
      ]),
      defaultSystemPrompt: model.systemPrompt ?? app.defaultSystemPrompt,
    };
  }

  async resolveChat(request: { modelId?: string; overrides?: ChatSettings }): Promise<ResolvedChatSettings> {
    const { modelId, overrides } = parseRequest(resolveChatRequest, request);
    return this.resolve(modelId, overrides);
  }

  async listPresets(): Promise<ChatPreset[]> {
    return sanitizePresets(this.store.read(CHAT_PRESETS_KEY));
  }

  async savePreset(request: ChatPreset): Promise<ChatPreset[]> {
    const preset = parseRequest(savePresetRequest, request);
    const name = preset.name.trim();
    if (name === "") throw new InvalidArgumentError("A preset needs a name", "name");
    const others = (await this.listPresets()).filter((existing) => existing.name !== name);
    if (others.length >= MAX_PRESETS) throw new InvalidArgumentError(`At most ${MAX_PRESETS} presets`, "name");
    const presets = [...others, { ...preset, name }].sort((a, b) => a.name.localeCompare(b.name));
    this.store.write(CHAT_PRESETS_KEY, presets);
    return presets;
  }

  async deletePreset(request: { name: string }): Promise<ChatPreset[]> {
    const { name } = parseRequest(deletePresetRequest, request);
    const presets = (await this.listPresets()).filter((existing) => existing.name !== name);
    this.store.write(CHAT_PRESETS_KEY, presets);
    return presets;
  }

  onChanged = (listener: (settings: AppSettings) => void): Unsubscribe => {
    this.events.on("changed", listener);
    return () => this.events.off("changed", listener);
  };

  dispose(): void {
    this.events.removeAllListeners();
  }
}
