import { useState } from "react";
import type { LibraryModel } from "../../../../shared/api/library.js";
import type { LoadModelOptions } from "../../../../shared/contract/index.js";
import { Dialog } from "../../components/Dialog.js";

interface LoadModelDialogProps {
  model: LibraryModel;
  /** LoRA adapters in the library that can be applied to the model. */
  adapters: LibraryModel[];
  onLoad: (options: LoadModelOptions) => void;
  onCancel: () => void;
}

type GpuMode = "auto" | "max" | "count";

/** Parses an optional integer field: "" → undefined; anything else must be an integer. */
function parseInteger(text: string): number | undefined | "invalid" {
  if (text.trim() === "") return undefined;
  const value = Number(text);
  return Number.isInteger(value) ? value : "invalid";
}

/** Options of loading a model: context size, GPU layers, parallel sequences and idle TTL. */
export function LoadModelDialog({ model, adapters, onLoad, onCancel }: LoadModelDialogProps) {
  const defaultContext = Math.min(model.contextLength ?? 4096, 4096);
  const [contextSize, setContextSize] = useState("");
  const [gpuMode, setGpuMode] = useState<GpuMode>("auto");
  const [gpuLayers, setGpuLayers] = useState("");
  const [parallel, setParallel] = useState("");
  const [ttl, setTtl] = useState("");
  /** Chosen adapters and their scale text, by adapter id. */
  const [lora, setLora] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const submit = (): void => {
    const context = parseInteger(contextSize);
    const layers = parseInteger(gpuLayers);
    const sequences = parseInteger(parallel);
    const ttlValue = ttl.trim() === "" ? undefined : Number(ttl);
    if (context === "invalid" || (context !== undefined && context < 16)) return setError("Context size must be a whole number of tokens (at least 16).");
    if (gpuMode === "count" && (layers === undefined || layers === "invalid" || layers < 0)) return setError("GPU layers must be a whole number, 0 or more.");
    if (sequences === "invalid" || (sequences !== undefined && sequences < 1)) return setError("Parallel sequences must be a whole number, 1 or more.");
    if (ttlValue !== undefined && !Number.isFinite(ttlValue)) return setError("Unload after must be a number of minutes.");
    const loraAdapters = Object.entries(lora).map(([id, scaleText]) => ({ id, scale: scaleText.trim() === "" ? 1 : Number(scaleText) }));
    if (loraAdapters.some((adapter) => !Number.isFinite(adapter.scale))) return setError("An adapter's scale must be a number (1 applies it fully).");
    const options: LoadModelOptions = {};
    if (context !== undefined) options.contextSize = context;
    options.gpuLayers = gpuMode === "count" ? (layers as number) : gpuMode;
    if (sequences !== undefined) options.parallel = sequences;
    if (ttlValue !== undefined) options.ttlMinutes = ttlValue;
    if (loraAdapters.length > 0) options.loraAdapters = loraAdapters;
    onLoad(options);
  };

  return (
    <Dialog title={`Load ${model.id}`} onClose={onCancel} testId="load-dialog">
      <form
        className="dialog-body form-grid"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <label className="field">
          <span className="field-label">Context size (tokens)</span>
          <input type="number" min={16} step={1} inputMode="numeric" placeholder={String(defaultContext)} value={contextSize} onChange={(event) => setContextSize(event.target.value)} />
          <span className="field-hint">Per sequence. Trained for {model.contextLength?.toLocaleString() ?? "an unknown number of"} tokens.</span>
        </label>
        <label className="field">
          <span className="field-label">GPU layers</span>
          <select value={gpuMode} onChange={(event) => setGpuMode(event.target.value as GpuMode)}>
            <option value="auto">Auto (as many as fit)</option>
            <option value="max">All layers</option>
            <option value="count">A number of layers…</option>
          </select>
        </label>
        {gpuMode === "count" && (
          <label className="field">
            <span className="field-label">Layers on the GPU</span>
            <input type="number" min={0} step={1} value={gpuLayers} onChange={(event) => setGpuLayers(event.target.value)} />
          </label>
        )}
        <label className="field">
          <span className="field-label">Parallel sequences</span>
          <input type="number" min={1} step={1} placeholder="4" value={parallel} onChange={(event) => setParallel(event.target.value)} />
          <span className="field-hint">Requests generating at once.</span>
        </label>
        <label className="field">
          <span className="field-label">Unload after idle (minutes)</span>
          <input type="number" step="any" placeholder="15" value={ttl} onChange={(event) => setTtl(event.target.value)} />
          <span className="field-hint">0 unloads as soon as idle; −1 keeps it loaded.</span>
        </label>
        {adapters.length > 0 && (
          <fieldset className="field" data-testid="lora-adapters">
            <legend className="field-label">LoRA adapters</legend>
            {adapters.map((adapter) => (
              <div key={adapter.id} className="inline-field">
                <label>
                  <input
                    type="checkbox"
                    checked={adapter.id in lora}
                    onChange={(event) =>
                      setLora((current) => {
                        const next = { ...current };
                        if (event.target.checked) next[adapter.id] = "1";
                        else delete next[adapter.id];
                        return next;
                      })
                    }
                  />{" "}
                  {adapter.id}
                </label>
                {adapter.id in lora && (
                  <input
                    type="number"
                    step="any"
                    aria-label={`Scale of ${adapter.id}`}
                    value={lora[adapter.id]}
                    onChange={(event) => setLora((current) => ({ ...current, [adapter.id]: event.target.value }))}
                  />
                )}
              </div>
            ))}
            <span className="field-hint">Applied at load; the scale sets how strongly (1 = fully).</span>
          </fieldset>
        )}
        {error && (
          <p className="notice notice-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-primary">
            Load
          </button>
        </div>
      </form>
    </Dialog>
  );
}
