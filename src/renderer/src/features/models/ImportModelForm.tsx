import { useId, useState } from "react";
import { FieldError, fieldErrorProps } from "../../components/FieldError.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";

/** Imports a GGUF file that is already on this machine, by its path. */
export function ImportModelForm() {
  const { models } = useAppStores();
  const error = useModels((state) => state.importError);
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<string | null>(null);
  const inputId = useId();
  const errorId = `${inputId}-error`;
  return (
    <form
      className="inline-form"
      data-testid="import-form"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setImported(null);
        void models
          .getState()
          .importFile(path)
          .then((model) => {
            setBusy(false);
            if (model) {
              setImported(model.id);
              setPath("");
            }
          });
      }}
    >
      <div className="field field-grow">
        <label className="field-label" htmlFor={inputId}>
          Import a local file
        </label>
        <input
          id={inputId}
          type="text"
          placeholder="/path/to/model.gguf"
          value={path}
          data-testid="import-path-input"
          {...fieldErrorProps(errorId, error)}
          onChange={(event) => {
            setPath(event.target.value);
            if (models.getState().importError) models.setState({ importError: null });
          }}
          spellCheck={false}
        />
        <FieldError id={errorId} message={error} testId="import-path-error" />
      </div>
      <button type="submit" className="button" disabled={busy || !path.trim()}>
        {busy ? "Importing…" : "Import"}
      </button>
      {imported && (
        <span className="muted" role="status">
          Imported {imported}.
        </span>
      )}
    </form>
  );
}
