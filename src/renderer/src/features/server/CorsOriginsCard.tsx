import { useId, useState } from "react";
import type { ServerStatus } from "../../../../shared/contract/index.js";
import { Card } from "../../components/Card.js";
import { FieldError, fieldErrorProps } from "../../components/FieldError.js";
import { useAppStores, useServer } from "../../app/StoresContext.js";
import { parseOrigins } from "./serverStore.js";

/** Web pages (origins) allowed to call the API from a browser. */
export function CorsOriginsCard({ status }: { status: ServerStatus }) {
  const { server } = useAppStores();
  const busy = useServer((state) => state.busy);
  const error = useServer((state) => state.fieldErrors.corsOrigins);
  const inputId = useId();
  const errorId = `${inputId}-error`;
  const [text, setText] = useState(status.corsOrigins.join("\n"));
  const [saved, setSaved] = useState(false);
  const dirty = JSON.stringify(parseOrigins(text)) !== JSON.stringify(status.corsOrigins);
  return (
    <Card title="CORS origins" testId="cors">
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void server
            .getState()
            .setCorsOrigins(parseOrigins(text))
            .then((ok) => setSaved(ok));
        }}
      >
        <div className="field">
          <label className="field-label" htmlFor={inputId}>
            Allowed origins, one per line
          </label>
          <textarea
            id={inputId}
            data-testid="cors-origins-input"
            {...fieldErrorProps(errorId, error)}
            rows={3}
            className="code-input"
            spellCheck={false}
            placeholder="https://app.example.com"
            value={text}
            onChange={(event) => {
              setText(event.target.value);
              setSaved(false);
              server.getState().clearFieldError("corsOrigins");
            }}
          />
          <FieldError id={errorId} message={error} testId="cors-origins-error" />
          <span className="field-hint">Exact origins only (scheme, host and port). Other web pages are refused.</span>
        </div>
        <div className="row">
          <button type="submit" className="button button-primary" disabled={busy || !dirty}>
            Save origins
          </button>
          {saved && !dirty && (
            <span className="muted small" role="status">
              Saved
            </span>
          )}
        </div>
      </form>
    </Card>
  );
}
