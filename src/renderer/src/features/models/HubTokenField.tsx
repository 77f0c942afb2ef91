import { useState } from "react";
import { useAppStores, useModels } from "../../app/StoresContext.js";

const SOURCES = { env: "from HF_TOKEN (it wins over a stored one)", stored: "stored on this machine", none: "" } as const;

/**
 * The Hugging Face access token for gated and private repositories: entered once, stored by the
 * core (encrypted by the OS keychain on the desktop, a 0600 file headless), never shown again.
 */
export function HubTokenField() {
  const { models } = useAppStores();
  const status = useModels((state) => state.hubToken);
  const error = useModels((state) => state.hubTokenError);
  const [token, setToken] = useState("");
  const [saving, setSaving] = useState(false);
  const run = async (action: () => Promise<boolean>): Promise<void> => {
    setSaving(true);
    try {
      if (await action()) setToken("");
    } finally {
      setSaving(false);
    }
  };
  return (
    <details className="hub-token" data-testid="hub-token">
      <summary>
        Hugging Face token{" "}
        <span className={status?.configured ? "badge badge-success" : "badge badge-neutral"} data-testid="hub-token-status">
          {status === null ? "unknown" : status.configured ? "configured" : "not set"}
        </span>
      </summary>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void run(() => models.getState().saveHubToken(token));
        }}
      >
        <label className="field field-grow">
          <span className="field-label">Access token (for gated and private repositories)</span>
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder={status?.configured ? "•••••••• (enter a new one to replace it)" : "hf_…"}
            value={token}
            onChange={(event) => setToken(event.target.value)}
            data-testid="hub-token-input"
          />
        </label>
        <button type="submit" className="button button-primary" disabled={saving || token.trim() === ""} data-testid="hub-token-save">
          Save token
        </button>
        {status?.stored && (
          <button type="button" className="button" disabled={saving} onClick={() => void run(() => models.getState().clearHubToken())} data-testid="hub-token-clear">
            Clear
          </button>
        )}
      </form>
      {status?.configured && <p className="muted">A token is in use, {SOURCES[status.source]}. It is never shown again.</p>}
      {error && (
        <p className="notice notice-error" role="alert" data-testid="hub-token-error">
          {error}
        </p>
      )}
    </details>
  );
}
