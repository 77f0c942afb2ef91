import type { LibraryModel, LoadedModelState } from "../../../../shared/api/library.js";
import { Badge } from "../../components/Badge.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";
import { formatBytes, formatCount } from "../../lib/format.js";
import { loadedMemoryBytes } from "../../lib/modelMemory.js";
import { countOf } from "../../lib/plural.js";
import type { ModelAction } from "./modelsStore.js";

interface LibraryTableProps {
  onLoad: (model: LibraryModel) => void;
  onDelete: (model: LibraryModel) => void;
}

/** Every model in the models folder with its metadata, status and residency. */
export function LibraryTable({ onLoad, onDelete }: LibraryTableProps) {
  const library = useModels((state) => state.library);
  const loaded = useModels((state) => state.loaded);
  const pending = useModels((state) => state.pending);
  return (
    <div className="table-wrap">
      <table className="table" data-testid="library-table">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Size</th>
            <th scope="col">Quantization</th>
            <th scope="col">Architecture</th>
            <th scope="col">Context</th>
            <th scope="col">Status</th>
            <th scope="col">Memory</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {library.map((model) => (
            <LibraryRow
              key={model.id}
              model={model}
              loaded={loaded.find((state) => state.id === model.id)}
              pending={pending[model.id]}
              onLoad={onLoad}
              onDelete={onDelete}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface LibraryRowProps extends LibraryTableProps {
  model: LibraryModel;
  loaded: LoadedModelState | undefined;
  pending: ModelAction | undefined;
}

function LibraryRow({ model, loaded, pending, onLoad, onDelete }: LibraryRowProps) {
  const { models } = useAppStores();
  const isLoaded = loaded?.state === "loaded";
  const broken = model.status === "broken";
  return (
    <tr data-testid="library-row" data-model-id={model.id} className={broken ? "row-broken" : undefined}>
      <th scope="row" className="cell-model">
        <span className="model-id">{model.id}</span>
        {(model.name || model.parameterCount) && (
          <span className="model-sub">
            {[model.name, model.parameterCount ? `${formatCount(model.parameterCount)} params` : undefined, model.kind === "adapter" ? "LoRA adapter" : undefined]
              .filter(Boolean)
              .join(" · ")}
          </span>
        )}
      </th>
      <td>{formatBytes(model.sizeBytes)}</td>
      <td>{model.quantization ?? "—"}</td>
      <td>{model.architecture ?? "—"}</td>
      <td>
        <span title="Context the model was trained for">{model.contextLength ? model.contextLength.toLocaleString() : "—"}</span>
        {isLoaded && loaded.contextSize !== undefined && <LoadedContext contextSize={loaded.contextSize} parallel={loaded.parallel} trained={model.contextLength} />}
      </td>
      <td>
        {broken ? (
          <span className="broken-status" data-testid="model-broken">
            <Badge tone="danger">broken</Badge>
            <span className="broken-reason">{model.error ?? "unusable file"}</span>
          </span>
        ) : (
          <ResidencyBadge state={loaded} pending={pending} />
        )}
      </td>
      <td data-testid="model-memory">{loaded ? formatBytes(loadedMemoryBytes(loaded)) : "—"}</td>
      <td className="cell-actions">
        {!broken && model.kind === "model" && (loaded ? (
          <button
            type="button"
            className="button button-small"
            disabled={pending !== undefined || !isLoaded}
            onClick={() => void models.getState().unloadModel(model.id)}
            aria-label={`Unload ${model.id}`}
          >
            Unload
          </button>
        ) : (
          <button
            type="button"
            className="button button-small button-primary"
            disabled={pending !== undefined}
            onClick={() => onLoad(model)}
            aria-label={`Load ${model.id}`}
          >
            Load…
          </button>
        ))}
        <button
          type="button"
          className="button button-small button-ghost-danger"
          disabled={pending !== undefined || (loaded !== undefined && loaded.activeRequests > 0)}
          onClick={() => onDelete(model)}
          aria-label={`Delete ${model.id}`}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}

/** The context a loaded model runs with, per sequence, and its sequences; a warning colour past the trained context. */
function LoadedContext({ contextSize, parallel, trained }: { contextSize: number; parallel: number | undefined; trained: number | undefined }) {
  const pastTrained = trained !== undefined && contextSize > trained;
  const sequences = parallel === undefined ? "" : ` × ${countOf(parallel, "sequence")}`;
  return (
    <span
      className="loaded-context"
      data-testid="loaded-context"
      data-past-trained={pastTrained ? "true" : undefined}
      title={pastTrained ? `Loaded past the ${trained.toLocaleString()} tokens it was trained for` : "Context it is loaded with, per sequence"}
      style={pastTrained ? { color: "var(--warning)" } : undefined}
    >
      loaded: {contextSize.toLocaleString()}
      {sequences}
    </span>
  );
}

function ResidencyBadge({ state, pending }: { state: LoadedModelState | undefined; pending: ModelAction | undefined }) {
  if (pending === "loading" || state?.state === "loading") return <Badge tone="info" testId="model-state">loading…</Badge>;
  if (pending === "unloading" || state?.state === "unloading") return <Badge tone="info" testId="model-state">unloading…</Badge>;
  if (pending === "removing") return <Badge tone="warning" testId="model-state">deleting…</Badge>;
  if (state?.state === "loaded") {
    return (
      <Badge tone="success" testId="model-state" title={state.activeRequests > 0 ? `${countOf(state.activeRequests, "request")} running` : undefined}>
        loaded{state.activeRequests > 0 ? ` · ${state.activeRequests} active` : ""}
      </Badge>
    );
  }
  return <Badge testId="model-state">not loaded</Badge>;
}
