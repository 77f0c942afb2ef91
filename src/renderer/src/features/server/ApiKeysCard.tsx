import { useId, useState } from "react";
import type { ApiKeyInfo, ApiKeyScope } from "../../../../shared/contract/index.js";
import { Card } from "../../components/Card.js";
import { ConfirmDialog } from "../../components/ConfirmDialog.js";
import { CopyButton } from "../../components/CopyButton.js";
import { FieldError, fieldErrorProps } from "../../components/FieldError.js";
import { useAppStores, useServer } from "../../app/StoresContext.js";
import { formatDateTime } from "../../lib/format.js";
import { pageMayNeedAdminKey } from "./serverStore.js";

/** What each scope lets a key do, as the scope picker and the table say it. */
const SCOPE_LABELS: Record<ApiKeyScope, string> = {
  inference: "Inference: the HTTP API only (/v1, /api)",
  admin: "Admin: also the app (keys, CORS, providers, downloads, deleting models)",
};

/** API keys: create with a scope (the key is shown once), list, revoke. */
export function ApiKeysCard() {
  const { server } = useAppStores();
  const keys = useServer((state) => state.keys);
  const status = useServer((state) => state.status);
  const created = useServer((state) => state.createdKey);
  const busy = useServer((state) => state.busy);
  const nameError = useServer((state) => state.fieldErrors.keyName);
  const nameId = useId();
  const nameErrorId = `${nameId}-error`;
  const [name, setName] = useState("");
  const [scope, setScope] = useState<ApiKeyScope>("inference");
  const [localOnly, setLocalOnly] = useState(false);
  const [revoking, setRevoking] = useState<ApiKeyInfo | null>(null);
  return (
    <Card title="API keys" testId="api-keys">
      <p className="muted">
        Apps send a key as <code>Authorization: Bearer &lt;key&gt;</code>. Once any key exists, every request needs one. An inference key can only use
        the HTTP API; opening this app in a browser takes an admin key.
      </p>
      {created && (
        <div className="notice notice-success created-key" role="alert" data-testid="created-key">
          <p>
            <strong>Copy the key “{created.info.name}” now.</strong> It is shown only once.
          </p>
          <div className="row">
            <code className="secret" data-testid="created-key-value">
              {created.key}
            </code>
            <CopyButton text={created.key} label="Copy API key" testId="copy-key" />
          </div>
          <button type="button" className="button button-small" onClick={() => server.getState().dismissCreatedKey()}>
            I have copied it
          </button>
        </div>
      )}
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void server
            .getState()
            .createKey(name, scope, { localOnly })
            .then(() => {
              if (!server.getState().fieldErrors.keyName) setName("");
            });
        }}
      >
        <div className="field field-grow">
          <label className="field-label" htmlFor={nameId}>
            Key name
          </label>
          <input
            id={nameId}
            type="text"
            placeholder="e.g. my-script"
            value={name}
            data-testid="key-name-input"
            {...fieldErrorProps(nameErrorId, nameError)}
            onChange={(event) => {
              setName(event.target.value);
              server.getState().clearFieldError("keyName");
            }}
          />
          <FieldError id={nameErrorId} message={nameError} testId="key-name-error" />
        </div>
        <label className="field">
          <span className="field-label">Scope</span>
          <select value={scope} onChange={(event) => setScope(event.target.value as ApiKeyScope)} data-testid="key-scope">
            <option value="inference">{SCOPE_LABELS.inference}</option>
            <option value="admin">{SCOPE_LABELS.admin}</option>
          </select>
        </label>
        <label className="field field-inline" title="Requests with this key are always served on this machine, never sent to a remote provider">
          <input type="checkbox" checked={localOnly} onChange={(event) => setLocalOnly(event.target.checked)} data-testid="key-local-only" />
          <span>Local only</span>
        </label>
        <button type="submit" className="button button-primary" disabled={busy || !name.trim()}>
          Create key
        </button>
      </form>
      {pageMayNeedAdminKey(status, keys, scope) && (
        <p className="field-hint" data-testid="admin-key-hint">
          Once a key exists, this page needs an admin key to connect again: create an admin key too, or use one given to <code>serve</code> with{" "}
          <code>--api-key</code>.
        </p>
      )}
      {keys.length === 0 ? (
        <p className="empty" data-testid="no-keys">
          No keys.
        </p>
      ) : (
        <table className="table table-compact" data-testid="keys-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Scope</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id} data-testid="key-row">
                <th scope="row">{key.name}</th>
                <td>
                  <code>{key.prefix}</code>
                </td>
                <td>
                  <span className={key.scope === "admin" ? "badge badge-warning" : "badge"} title={SCOPE_LABELS[key.scope]} data-testid="key-scope-badge">
                    {key.scope}
                  </span>
                  {key.localOnly && (
                    <span className="badge" title="Never routed to a remote provider" data-testid="key-local-only-badge">
                      local only
                    </span>
                  )}
                </td>
                <td>{formatDateTime(key.createdAt)}</td>
                <td className="cell-actions">
                  <button type="button" className="button button-small button-ghost-danger" onClick={() => setRevoking(key)} aria-label={`Revoke ${key.name}`}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {revoking && (
        <ConfirmDialog
          title="Revoke key?"
          confirmLabel="Revoke"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            const id = revoking.id;
            setRevoking(null);
            void server.getState().revokeKey(id);
          }}
        >
          <p>
            Apps using “{revoking.name}” will get 401 errors from now on{revoking.scope === "admin" ? ", and app windows opened with it are disconnected at once" : ""}.
          </p>
        </ConfirmDialog>
      )}
    </Card>
  );
}
