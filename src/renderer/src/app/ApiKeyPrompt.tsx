import { useState } from "react";
import { Dialog } from "../components/Dialog.js";
import { useConnection, useConnectionControls } from "./StoresContext.js";

/** Asks for the server's API key when it requires one (kept in this browser's localStorage). */
export function ApiKeyPrompt() {
  const needsKey = useConnection((state) => state.needsKey);
  const keyRejected = useConnection((state) => state.keyRejected);
  const { submitKey } = useConnectionControls();
  const [key, setKey] = useState("");
  if (!needsKey) return null;
  return (
    <Dialog title="API key required" onClose={() => {}} testId="api-key-dialog">
      <form
        className="dialog-body stack"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) submitKey(key);
        }}
      >
        <p>
          This Marduk Local server only answers requests that carry an API key. Enter one of its keys (the one given with{" "}
          <code>--api-key</code> or <code>MARDUK_API_KEY</code>). It is kept in this browser.
        </p>
        {keyRejected && (
          <p className="notice notice-error" role="alert">
            The server refused that key.
          </p>
        )}
        <label className="field">
          <span className="field-label">API key</span>
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
