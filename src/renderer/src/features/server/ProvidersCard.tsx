import { useState } from "react";
import type { ProviderInfo, ProviderSource } from "../../../../shared/contract/index.js";
import { Badge } from "../../components/Badge.js";
import { Card } from "../../components/Card.js";
import { ConfirmDialog } from "../../components/ConfirmDialog.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { useAppStores, useProviders } from "../../app/StoresContext.js";
import { formatDateTime } from "../../lib/format.js";
import { ProviderEditor } from "./ProviderEditor.js";
import { providerHealthLabel, providerModels } from "./providersStore.js";

const SOURCE_LABELS: Record<ProviderSource, string> = { app: "added here", config: "config file", cli: "command line" };

/** Models listed in a row before "+N more". */
const MODELS_SHOWN = 4;

/** Which editor is open: none, a new provider, or a saved one (by id). */
type EditorState = { mode: "closed" } | { mode: "add" } | { mode: "edit"; id: string };

function ProviderRow({ provider, onEdit, onRemove }: { provider: ProviderInfo; onEdit: () => void; onRemove: () => void }) {
  const removing = useProviders((state) => state.removing === provider.id);
  const health = providerHealthLabel(provider);
  const models = providerModels(provider);
  return (
    <tr data-testid="provider-row" data-provider-id={provider.id} data-health={health.label}>
      <th scope="row">
        <div className="model-id">{provider.id}</div>
        <div className="model-sub">{SOURCE_LABELS[provider.source]}</div>
      </th>
      <td>
        <code className="provider-url">{provider.baseUrl}</code>
      </td>
      <td>{provider.maskedApiKey ? <code data-testid="provider-key">{provider.maskedApiKey}</code> : <span className="muted">none</span>}</td>
      <td data-testid="provider-models">
        {models.length === 0 ? (
          <span className="muted">none found</span>
        ) : (
          <>
            {models.slice(0, MODELS_SHOWN).join(", ")}
            {models.length > MODELS_SHOWN && <span className="muted" title={models.slice(MODELS_SHOWN).join(", ")}> +{models.length - MODELS_SHOWN} more</span>}
          </>
        )}
      </td>
      <td>
        <Badge tone={health.tone} testId="provider-health" title={provider.health?.checkedAt ? `Checked ${formatDateTime(provider.health.checkedAt)}` : undefined}>
          {health.label}
        </Badge>
        {provider.health?.lastError && (
          <div className="provider-last-error" data-testid="provider-last-error">
            {provider.health.lastError}
            {provider.health.consecutiveFailures > 1 ? ` (${provider.health.consecutiveFailures} failures in a row)` : ""}
          </div>
        )}
      </td>
      <td data-testid="provider-outstanding">{provider.health?.outstanding ?? 0}</td>
      <td className="cell-actions">
        {provider.editable ? (
          <>
            <button type="button" className="button button-small" onClick={onEdit} aria-label={`Edit ${provider.id}`}>
              Edit
            </button>
            <button type="button" className="button button-small button-ghost-danger" onClick={onRemove} disabled={removing} aria-label={`Remove ${provider.id}`}>
              Remove
            </button>
          </>
        ) : (
          <span className="muted small">change it in the {SOURCE_LABELS[provider.source]}</span>
        )}
      </td>
    </tr>
  );
}

/** Remote OpenAI-compatible servers requests can be routed to: health, models, and the app's own (add, edit, remove). */
export function ProvidersCard() {
  const { providers: store } = useAppStores();
  const providers = useProviders((state) => state.providers);
  const loaded = useProviders((state) => state.loaded);
  const error = useProviders((state) => state.error);
  const [editor, setEditor] = useState<EditorState>({ mode: "closed" });
  const [confirmRemove, setConfirmRemove] = useState<ProviderInfo | null>(null);
  const editing = editor.mode === "edit" ? providers.find((provider) => provider.id === editor.id) : undefined;

  const open = (next: EditorState): void => {
    store.getState().resetForm();
    setEditor(next);
  };

  return (
    <Card
      title="Providers"
      testId="providers"
      actions={
        editor.mode === "closed" && (
          <button type="button" className="button button-small button-primary" onClick={() => open({ mode: "add" })}>
            Add provider
          </button>
        )
      }
    >
      <p className="muted">
        Other OpenAI-compatible servers (another <code>marduk-local serve</code>, vLLM, llama-server, OpenAI). Their models appear in the model pickers and in{" "}
        <code>/v1/models</code>; requests for them are sent there.
      </p>
      <ErrorNotice message={error} onDismiss={() => store.getState().clearError()} testId="providers-error" />
      {!loaded ? (
        <p className="muted">Reading the providers…</p>
      ) : providers.length === 0 ? (
        <p className="empty" data-testid="no-providers">
          No remote providers: every request is served on this machine.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table table-compact" data-testid="providers-table">
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Base URL</th>
                <th scope="col">API key</th>
                <th scope="col">Models</th>
                <th scope="col">Health</th>
                <th scope="col" title="Requests running on it now">
                  Running
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {providers.map((provider) => (
                <ProviderRow key={provider.id} provider={provider} onEdit={() => open({ mode: "edit", id: provider.id })} onRemove={() => setConfirmRemove(provider)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editor.mode === "add" && <ProviderEditor key="add" onClose={() => setEditor({ mode: "closed" })} />}
      {editing && <ProviderEditor key={`edit:${editing.id}`} editing={editing} onClose={() => setEditor({ mode: "closed" })} />}
      {confirmRemove && (
        <ConfirmDialog
          title="Remove provider?"
          confirmLabel="Remove"
          danger
          onCancel={() => setConfirmRemove(null)}
          onConfirm={() => {
            const id = confirmRemove.id;
            setConfirmRemove(null);
            if (editor.mode === "edit" && editor.id === id) setEditor({ mode: "closed" });
            void store.getState().remove(id);
          }}
        >
          <p>
            Requests for the models of “{confirmRemove.id}” will no longer be sent to {confirmRemove.baseUrl}. Conversations that use them keep their messages.
          </p>
        </ConfirmDialog>
      )}
    </Card>
  );
}
