import { useId, useState, type ReactNode } from "react";
import type { ProviderInfo } from "../../../../shared/contract/index.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { FieldError, fieldErrorProps } from "../../components/FieldError.js";
import { useAppStores, useProviders } from "../../app/StoresContext.js";
import { formatMs } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";
import { EMPTY_PROVIDER_FORM, providerFormFrom, type ProviderForm, type ProviderFormField } from "./providersStore.js";

interface ProviderEditorProps {
  /** The provider being edited; absent: a new one. */
  editing?: ProviderInfo;
  onClose: () => void;
}

interface FieldProps {
  field: ProviderFormField;
  label: string;
  hint?: ReactNode;
  children: (props: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
  grow?: boolean;
}

/** A labelled input with its error (from the form's checks or the core's `param`) right below it. */
function Field({ field, label, hint, children, grow }: FieldProps) {
  const error = useProviders((state) => state.fieldErrors[field]);
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className={`field${grow ? " field-grow" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children({ id, ...fieldErrorProps(errorId, error) })}
      {error ? <FieldError id={errorId} message={error} testId={`provider-error-${field}`} /> : hint && <span className="field-hint">{hint}</span>}
    </div>
  );
}

/** Adds a remote provider or edits one of the app's: test the connection, then save. */
export function ProviderEditor({ editing, onClose }: ProviderEditorProps) {
  const { providers } = useAppStores();
  const saving = useProviders((state) => state.saving);
  const testing = useProviders((state) => state.testing);
  const outcome = useProviders((state) => state.testOutcome);
  const formError = useProviders((state) => state.formError);
  const [form, setForm] = useState<ProviderForm>(() => (editing ? providerFormFrom(editing) : EMPTY_PROVIDER_FORM));
  const isEditing = editing !== undefined;

  const change = (patch: Partial<ProviderForm>): void => {
    setForm((current) => ({ ...current, ...patch }));
    providers.getState().resetForm();
  };
  const text = (field: ProviderFormField) => ({
    value: form[field],
    onChange: (event: { target: { value: string } }) => change({ [field]: event.target.value }),
  });

  return (
    <form
      className="provider-editor stack"
      aria-label={isEditing ? `Edit provider ${editing.id}` : "Add provider"}
      data-testid="provider-editor"
      onSubmit={(event) => {
        event.preventDefault();
        void providers
          .getState()
          .save(form, isEditing)
          .then((saved) => saved && onClose());
      }}
    >
      <h3 className="provider-editor-title">{isEditing ? `Edit ${editing.id}` : "Add provider"}</h3>
      <div className="provider-grid">
        <Field field="id" label="Provider id" hint="Letters, digits, '.', '_' and '-'.">
          {(props) => <input type="text" placeholder="e.g. gpu-box" autoComplete="off" spellCheck={false} readOnly={isEditing} {...props} {...text("id")} />}
        </Field>
        <Field field="baseUrl" label="Base URL" hint="Its OpenAI API, usually ending in /v1." grow>
          {(props) => <input type="url" placeholder="http://10.0.0.2:8000/v1" autoComplete="off" spellCheck={false} {...props} {...text("baseUrl")} />}
        </Field>
        <Field
          field="apiKey"
          label="API key"
          hint={isEditing ? (editing.maskedApiKey ? `Blank keeps the stored key (${editing.maskedApiKey}).` : "Blank: no key.") : "Optional; stored on this machine, never shown again."}
        >
          {(props) => (
            <input type="password" autoComplete="new-password" placeholder={isEditing && editing.maskedApiKey ? "unchanged" : ""} disabled={form.removeApiKey} {...props} {...text("apiKey")} />
          )}
        </Field>
        <Field field="models" label="Models" hint="Comma-separated; blank: discovered from the provider." grow>
          {(props) => <input type="text" placeholder="gpt-4o-mini, llama-3.1-8b" spellCheck={false} {...props} {...text("models")} />}
        </Field>
        <Field field="priceInput" label="Input price ($ per million tokens)" hint="Blank: free.">
          {(props) => <input type="number" min={0} step="any" inputMode="decimal" placeholder="0" {...props} {...text("priceInput")} />}
        </Field>
        <Field field="priceOutput" label="Output price ($ per million tokens)" hint="Blank: free.">
          {(props) => <input type="number" min={0} step="any" inputMode="decimal" placeholder="0" {...props} {...text("priceOutput")} />}
        </Field>
        <Field field="maxConcurrency" label="Max concurrency" hint="Requests at once. Blank: 8.">
          {(props) => <input type="number" min={1} step={1} inputMode="numeric" placeholder="8" {...props} {...text("maxConcurrency")} />}
        </Field>
      </div>
      {isEditing && editing.maskedApiKey && (
        <label className="checkbox">
          <input type="checkbox" checked={form.removeApiKey} onChange={(event) => change({ removeApiKey: event.target.checked })} />
          Remove the stored key
        </label>
      )}
      <ErrorNotice message={formError} testId="provider-form-error" />
      {outcome && (
        <div className={`notice ${outcome.ok ? "notice-success" : "notice-error"}`} role="status" data-testid="provider-test-result" data-ok={String(outcome.ok)}>
          {outcome.ok ? (
            <p>
              Connected in {formatMs(outcome.latencyMs)}: {outcome.models.length === 0 ? "no models listed." : `${countOf(outcome.models.length, "model")} (${outcome.models.join(", ")}).`}
            </p>
          ) : (
            <span>Connection failed: {outcome.message}</span>
          )}
        </div>
      )}
      <div className="row">
        <button type="button" className="button" disabled={testing || saving} onClick={() => void providers.getState().test(form, isEditing)}>
          {testing ? "Testing…" : "Test connection"}
        </button>
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? "Saving…" : isEditing ? "Save changes" : "Save provider"}
        </button>
        <button
          type="button"
          className="button button-ghost"
          onClick={() => {
            providers.getState().resetForm();
            onClose();
          }}
        >
          Cancel
        </button>
      </div>
    </form>
  );
}
