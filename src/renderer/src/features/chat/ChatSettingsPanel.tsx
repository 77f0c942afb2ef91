import { useState } from "react";
import type { Conversation } from "../../../../shared/contract/index.js";
import { useAppStores, useChat } from "../../app/StoresContext.js";
import { formToSettings, settingsToForm, type ChatSettingsForm } from "./chatSettingsForm.js";

/** The open conversation's system prompt, sampling and output settings. */
export function ChatSettingsPanel() {
  const active = useChat((state) => state.active);
  return (
    <aside className="chat-settings" aria-label="Conversation settings" data-testid="chat-settings">
      <h2 className="panel-title">Settings</h2>
      {active ? (
        // Remount per conversation so the form starts from its settings.
        <SettingsForm key={active.id} conversation={active} />
      ) : (
        <p className="muted small">Settings belong to a conversation: start one to change its system prompt, sampling and output format.</p>
      )}
    </aside>
  );
}

function NumberField({ label, value, onChange, step, placeholder, hint }: { label: string; value: string; onChange: (value: string) => void; step: string; placeholder: string; hint?: string }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input type="number" step={step} placeholder={placeholder} value={value} onChange={(event) => onChange(event.target.value)} />
      {hint && <span className="field-hint">{hint}</span>}
    </label>
  );
}

function SettingsForm({ conversation }: { conversation: Conversation }) {
  const { chat } = useAppStores();
  const [systemPrompt, setSystemPrompt] = useState(conversation.systemPrompt);
  const [form, setForm] = useState<ChatSettingsForm>(() => settingsToForm(conversation.settings));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const update = (patch: Partial<ChatSettingsForm>): void => {
    setForm((current) => ({ ...current, ...patch }));
    setSaved(false);
  };
  const initial = settingsToForm(conversation.settings);
  const dirty = systemPrompt !== conversation.systemPrompt || JSON.stringify(form) !== JSON.stringify(initial);

  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        const parsed = formToSettings(form);
        if ("error" in parsed) {
          setError(parsed.error);
          return;
        }
        setError(null);
        const state = chat.getState();
        void (async () => {
          if (systemPrompt !== conversation.systemPrompt) await state.setSystemPrompt(systemPrompt);
          await state.updateSettings(parsed.settings);
          setSaved(true);
        })();
      }}
    >
      <label className="field">
        <span className="field-label">System prompt</span>
        <textarea rows={4} value={systemPrompt} onChange={(event) => (setSystemPrompt(event.target.value), setSaved(false))} placeholder="You are a helpful assistant." />
      </label>
      <fieldset className="fieldset">
        <legend>Sampling</legend>
        <div className="form-grid-2">
          <NumberField label="Temperature" step="0.05" placeholder="0.8" value={form.temperature} onChange={(temperature) => update({ temperature })} />
          <NumberField label="Top P" step="0.01" placeholder="0.95" value={form.topP} onChange={(topP) => update({ topP })} />
          <NumberField label="Top K" step="1" placeholder="40" value={form.topK} onChange={(topK) => update({ topK })} />
          <NumberField label="Min P" step="0.01" placeholder="0.05" value={form.minP} onChange={(minP) => update({ minP })} />
          <NumberField label="Repeat penalty" step="0.05" placeholder="1" value={form.repeatPenalty} onChange={(repeatPenalty) => update({ repeatPenalty })} />
          <NumberField label="Max tokens" step="1" placeholder="auto" value={form.maxTokens} onChange={(maxTokens) => update({ maxTokens })} />
          <NumberField label="Seed" step="1" placeholder="random" value={form.seed} onChange={(seed) => update({ seed })} />
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
        <button type="submit" className="button button-primary" disabled={!dirty}>
          Apply
        </button>
        <button
          type="button"
          className="button"
          disabled={!dirty}
          onClick={() => {
            setSystemPrompt(conversation.systemPrompt);
            setForm(initial);
            setError(null);
          }}
        >
          Reset
        </button>
        {saved && !dirty && (
          <span className="muted small" role="status">
            Saved
          </span>
        )}
      </div>
    </form>
  );
}
