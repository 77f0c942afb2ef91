import { useState } from "react";
import type { LibraryModel } from "../../../../shared/api/library.js";
import { Card } from "../../components/Card.js";
import { ConfirmDialog } from "../../components/ConfirmDialog.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";
import { formatBytes } from "../../lib/format.js";
import { countOf } from "../../lib/plural.js";
import { ImportModelForm } from "./ImportModelForm.js";
import { LibraryTable } from "./LibraryTable.js";
import { LoadModelDialog } from "./LoadModelDialog.js";

/** The library: the table, the import form, and the load and delete dialogs. */
export function LibraryCard() {
  const { models } = useAppStores();
  const library = useModels((state) => state.library);
  const libraryLoaded = useModels((state) => state.libraryLoaded);
  const pending = useModels((state) => state.pending);
  const [loading, setLoading] = useState<LibraryModel | null>(null);
  const [deleting, setDeleting] = useState<LibraryModel | null>(null);
  const totalBytes = library.reduce((sum, model) => sum + model.sizeBytes, 0);

  return (
    <Card title="Library" testId="library" actions={<span className="muted">{library.length > 0 && `${countOf(library.length, "model")} · ${formatBytes(totalBytes)}`}</span>}>
      {!libraryLoaded ? (
        <p className="muted">Reading the models folder…</p>
      ) : library.length === 0 ? (
        <p className="empty" data-testid="library-empty">
          No models yet. Download one of the starter models, search Hugging Face below, or import a .gguf file you already have.
        </p>
      ) : (
        <LibraryTable onLoad={setLoading} onDelete={setDeleting} />
      )}
      <ImportModelForm />
      {loading && (
        <LoadModelDialog
          model={loading}
          adapters={library.filter((entry) => entry.kind === "adapter" && entry.status === "ok")}
          draftCandidates={library.filter((entry) => entry.kind !== "adapter" && entry.status === "ok" && entry.id !== loading.id)}
          onCancel={() => setLoading(null)}
          onLoad={(options) => {
            setLoading(null);
            void models.getState().loadModel(loading.id, options);
          }}
        />
      )}
      {deleting && (
        <ConfirmDialog
          title="Delete model?"
          confirmLabel="Delete"
          danger
          busy={pending[deleting.id] === "removing"}
          onCancel={() => setDeleting(null)}
          onConfirm={() => {
            const id = deleting.id;
            void models
              .getState()
              .removeModel(id)
              .then(() => setDeleting(null));
          }}
        >
          <p>
            This deletes <strong>{deleting.id}</strong> ({formatBytes(deleting.sizeBytes)}) from the models folder
            {deleting.files.length > 1 ? `, all ${deleting.files.length} parts` : ""}. It cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </Card>
  );
}
