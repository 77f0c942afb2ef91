import { useEffect, useState } from "react";
import type { ChatSettings, ChatSettingSource, Conversation, ResolvedChatSettings } from "../../../../shared/contract/index.js";
import { useAppStores, useChat } from "../../app/StoresContext.js";
import { CONTEXT_OVERFLOW_LABELS, formToSettings, settingsToForm, type ChatSettingsForm } from "./chatSettingsForm.js";

const SOURCE_LABELS: Record<ChatSettingSource, string> = {
  conversation: "set in this chat",
  model: "from model default",
  app: "from app default",
  builtIn: "built in",
};

/**
 * The system prompt, sampling and output settings: the open conversation's overrides, or
 * (before the first message) those a new chat starts with. Each field shows where its value
 * comes from (conversation > model default > app default > built in); the values can be saved
 * as the model's or the app's defaults, or as a named preset.
 */
export function ChatSettingsPanel() {
  const active = useChat((state) => state.active);
  // Bumped when a preset changed the settings from outside the form.
  const [resets, setResets] = useState(0);
  return (
    <aside className="chat-settings" aria-label="Conversation settings" data-testid="chat-settings">
      <h2 className="panel-title">Settings</h2>
      {/* Remount per conversation (and after a preset) so the form starts from its settings. */}
      <SettingsForm key={`${active?.id ?? "new"}:${resets}`} conversation={active} onExternalChange={() => setResets((count) => count + 1)} />
    </aside>
  );
}

function sourceOf(resolved: ResolvedChatSettings | null, key: keyof ChatSettings): ChatSettingSource | undefined {
  return resolved?.sources[key];
}

/** The value that applies when the field is left empty (the default from a lower level). */
function inherited(resolved: ResolvedChatSettings | null, key: keyof ChatSettings, conversation: Conversation | null): string | undefined {
  if (!resolved) return undefined;
  // The resolved value includes the conversation's own; the placeholder shows what is under it.
  if (resolved.sources[key] === "conversation" && conversation) return undefined;
  const value = resolved.settings[key];
  return value === undefined ? undefined : String(value);
}

function SourceNote({ source }: { source: ChatSettingSource | undefined }) {
  if (!source) return null;
  return (
    <span className={`setting-source setting-source-${source}`} data-testid="setting-source">
      {SOURCE_LABELS[source]}
    </span>
  );
}

function NumberField({
  label,
  value,
  onChange,
  step,
  placeholder,
  source,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  step: string;
  placeholder: string;
  source?: ChatSettingSource;
}) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input type="number" step={step} placeholder={placeholder} value={value} onChange={(event) => onChange(event.target.value)} aria-label={label} />
      <SourceNote source={value.trim() !== "" ? "conversation" : source === "conversation" ? undefined : source} />
    </label>
  );
}

function SettingsForm({ conversation, onExternalChange }: { conversation: Conversation | null; onExternalChange: () => void }) {
  const { chat } = useAppStores();
  const resolved = useChat((state) => state.resolved);
  const presets = useChat((state) => state.presets);
  const initialPrompt = conversation?.systemPrompt ?? resolved?.defaultSystemPrompt ?? "";
  const [systemPrompt, setSystemPrompt] = useState(initialPrompt);
  const [promptTouched, setPromptTouched] = useState(false);
  // Before the first message, the prompt follows the defaults until the user types one.
  useEffect(() => {
    if (!conversation && !promptTouched) setSystemPrompt(initialPrompt);
  }, [conversation, promptTouched, initialPrompt]);
  const [form, setForm] = useState<ChatSettingsForm>(() => settingsToForm(conversation?.settings ?? {}));
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [presetName, setPresetName] = useState("");
  const [chosenPreset, setChosenPreset] = useState("");
  const update = (patch: Partial<ChatSettingsForm>): void => {
    setForm((current) => ({ ...current, ...patch }));
    setStatus(null);
  };
  const initial = settingsToForm(conversation?.settings ?? {});
  const dirty = systemPrompt !== initialPrompt || JSON.stringify(form) !== JSON.stringify(initial);
  const numberField = (label: string, key: keyof ChatSettings & keyof ChatSettingsForm, step: string, fallback: string) => (
    <NumberField
      label={label}
      step={step}
      placeholder={inherited(resolved, key, conversation) ?? fallback}
      value={form[key] as string}
      onChange={(value) => update({ [key]: value } as Partial<ChatSettingsForm>)}
      source={sourceOf(resolved, key)}
    />
  );
  /** The form's settings, or null (the error is shown). */
  const parsed = (): ChatSettings | null => {
    const result = formToSettings(form);
    if ("error" in result) {
      setError(result.error);
      return null;
    }
    setError(null);
    return result.settings;
  };
  const state = chat.getState();
  const overflowSource = form.contextOverflow !== "" ? "conversation" : sourceOf(resolved, "contextOverflow");
  const inheritedOverflow = resolved?.settings.contextOverflow;

  return (
    <form
      className="stack"
      data-testid="chat-settings-form"
      onSubmit={(event) => {
        event.preventDefault();
        const settings = parsed();
        if (!settings) return;
        void (async () => {
          if (!conversation) {
            // Before the first message: a new chat starts with these settings.
            const created = await state.create({ settings, systemPrompt });
            setStatus(created ? "New chat ready" : null);
            return;
          }
          if (systemPrompt !== conversation.systemPrompt) await state.setSystemPrompt(systemPrompt);
          await state.updateSettings(settings);
          setStatus("Saved");
        })();
      }}
    >
      {!conversation && <p className="muted small">No chat is open: these settings (with the defaults below them) are what a new chat starts with.</p>}
      <label className="field">
        <span className="field-label">System prompt</span>
        <textarea rows={4} value={systemPrompt} onChange={(event) => (setSystemPrompt(event.target.value), setPromptTouched(true), setStatus(null))} placeholder="You are a helpful assistant." aria-label="System prompt" />
      </label>
      <fieldset className="fieldset">
        <legend>Sampling</legend>
        <div className="form-grid-2">
          {numberField("Temperature", "temperature", "0.05", "0.8")}
          {numberField("Top P", "topP", "0.01", "0.95")}
          {numberField("Top K", "topK", "1", "40")}
          {numberField("Min P", "minP", "0.01", "0.05")}
          {numberField("Repeat penalty", "repeatPenalty", "0.05", "1")}
          {numberField("Max tokens", "maxTokens", "1", "auto")}
          {numberField("Seed", "seed", "1", "random")}
        </div>
        <label className="field">
          <span className="field-label">Stop sequences</span>
          <textarea rows={2} value={form.stop} onChange={(event) => update({ stop: event.target.value })} placeholder="One per line" />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={form.ignoreEos} onChange={(event) => update({ ignoreEos: event.target.checked })} />
          Ignore end of text (benchmarks: generate until max tokens)
        </label>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Context</legend>
        <label className="field">
          <span className="field-label">When the context is full</span>
          <select
            aria-label="When the context is full"
            value={form.contextOverflow}
            onChange={(event) => update({ contextOverflow: event.target.value as ChatSettingsForm["contextOverflow"] })}
          >
            <option value="">Default{inheritedOverflow ? ` (${CONTEXT_OVERFLOW_LABELS[inheritedOverflow]})` : ""}</option>
            {Object.entries(CONTEXT_OVERFLOW_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <SourceNote source={overflowSource} />
          <span className="field-hint">
            Truncate middle keeps the system prompt, the first exchange and the latest messages; a rolling window drops the oldest; stop at limit sends everything and ends the reply where
            the context ends.
          </span>
        </label>
      </fieldset>
      <fieldset className="fieldset">
        <legend>Output</legend>
        <label className="field">
          <span className="field-label">Output format</span>
          <select value={form.outputMode} onChange={(event) => update({ outputMode: event.target.value as ChatSettingsForm["outputMode"] })}>
            <option value="text">Free text</option>
            <option value="json_object">Any JSON object</option>
            <option value="json_schema">JSON matching a schema</option>
          </select>
        </label>
        {form.outputMode === "json_schema" && (
          <label className="field">
            <span className="field-label">JSON schema</span>
            <textarea
              className="code-input"
              rows={8}
              spellCheck={false}
              value={form.schema}
              onChange={(event) => update({ schema: event.target.value })}
              placeholder={'{\n  "type": "object",\n  "properties": { "answer": { "type": "string" } },\n  "required": ["answer"]\n}'}
            />
          </label>
        )}
      </fieldset>
      {error && (
        <p className="notice notice-error" role="alert">
          {error}
        </p>
      )}
      <div className="row">
        <button type="submit" className="button button-primary" disabled={conversation !== null && !dirty}>
          {conversation ? "Apply" : "Start a chat with these"}
        </button>
        <button
          type="button"
          className="button"
          disabled={!dirty}
          onClick={() => {
            setSystemPrompt(initialPrompt);
            setForm(initial);
            setError(null);
          }}
        >
          Reset
        </button>
        {status && (
          <span className="muted small" role="status">
            {status}
          </span>
        )}
      </div>
      <fieldset className="fieldset">
        <legend>Defaults</legend>
        <p className="muted small">Used by every chat that does not set a value itself (a model&apos;s defaults win over the app&apos;s).</p>
        <div className="row">
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              const settings = parsed();
              if (settings) void state.saveDefaults("model", settings, systemPrompt).then((ok) => setStatus(ok ? "Saved as the model's defaults" : null));
            }}
          >
            Save as model default
          </button>
          <button
            type="button"
            className="button button-small"
            onClick={() => {
              const settings = parsed();
              if (settings) void state.saveDefaults("app", settings, systemPrompt).then((ok) => setStatus(ok ? "Saved as the app's defaults" : null));
            }}
          >
            Save as app default
          </button>
        </div>
      </fieldset>
      <fieldset className="fieldset" data-testid="presets">
        <legend>Presets</legend>
        <div className="row">
          <select aria-label="Preset" value={chosenPreset} onChange={(event) => setChosenPreset(event.target.value)}>
            <option value="">Choose a preset…</option>
            {presets.map((preset) => (
              <option key={preset.name} value={preset.name}>
                {preset.name}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button button-small"
            disabled={chosenPreset === ""}
            onClick={() => void state.applyPreset(chosenPreset).then((ok) => ok && onExternalChange())}
          >
            Apply preset
          </button>
          <button type="button" className="button button-small button-ghost" disabled={chosenPreset === ""} onClick={() => void state.deletePreset(chosenPreset).then(() => setChosenPreset(""))}>
            Delete
          </button>
        </div>
        <div className="row">
          <input aria-label="Preset name" placeholder="Preset name" value={presetName} maxLength={100} onChange={(event) => setPresetName(event.target.value)} />
          <button
            type="button"
            className="button button-small"
            disabled={presetName.trim() === ""}
            onClick={() => {
              const settings = parsed();
              if (!settings) return;
              const name = presetName.trim();
              void state.savePreset(name, settings, systemPrompt).then((ok) => {
                if (!ok) return;
                setStatus(`Saved preset “${name}”`);
                setPresetName("");
              });
            }}
          >
            Save as preset
          </button>
        </div>
      </fieldset>
    </form>
  );
}
