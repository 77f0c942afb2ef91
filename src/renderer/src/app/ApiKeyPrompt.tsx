import { useState } from "react";
import { Dialog } from "../components/Dialog.js";
import { useConnection, useConnectionControls } from "./StoresContext.js";

/**
 * Asks for an admin API key when the server requires keys and this page has none, a wrong one,
 * or one that may only use the HTTP API (kept in this browser's localStorage).
 */
export function ApiKeyPrompt() {
  const needsKey = useConnection((state) => state.needsKey);
  const keyRejected = useConnection((state) => state.keyRejected);
  const adminKeyRequired = useConnection((state) => state.adminKeyRequired);
  const { submitKey } = useConnectionControls();
  const [key, setKey] = useState("");
  if (!needsKey) return null;
  return (
    <Dialog title="Admin API key required" onClose={() => {}} testId="api-key-dialog">
      <form
        className="dialog-body stack"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) submitKey(key);
        }}
      >
        <p>
          This Marduk Local server only answers requests that carry an API key, and the app needs an <strong>admin</strong> key: one given to{" "}
          <code>serve</code> with <code>--api-key</code> or <code>MARDUK_API_KEY</code>, or an admin key created in the app. It is kept in this browser.
        </p>
        {keyRejected && (
          <p className="notice notice-error" role="alert">
            The server refused that key.
          </p>
        )}
        {adminKeyRequired && (
          <p className="notice notice-error" role="alert" data-testid="admin-key-required">
            That key has the inference scope: it works for the HTTP API (<code>/v1</code>, <code>/api</code>), not for the app. Enter an admin key.
          </p>
        )}
        <label className="field">
          <span className="field-label">Admin API key</span>
          <input type="password" autoComplete="off" value={key} onChange={(event) => setKey(event.target.value)} autoFocus />
        </label>
        <div className="dialog-actions">
          <button type="submit" className="button button-primary" disabled={!key.trim()}>
            Connect
          </button>
        </div>
      </form>
    </Dialog>
  );
}
