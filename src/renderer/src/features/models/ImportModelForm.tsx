import { useState } from "react";
import { useAppStores } from "../../app/StoresContext.js";

/** Imports a GGUF file that is already on this machine, by its path. */
export function ImportModelForm() {
  const { models } = useAppStores();
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<string | null>(null);
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
      <label className="field field-grow">
        <span className="field-label">Import a local file</span>
        <input type="text" placeholder="/path/to/model.gguf" value={path} onChange={(event) => setPath(event.target.value)} spellCheck={false} />
      </label>
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
