import { useEffect, useMemo, useState } from "react";
import type { LibraryModel } from "../../../../shared/api/library.js";
import {
  FLASH_ATTENTION_MODES,
  KV_CACHE_TYPES,
  MAX_BATCH_SIZE,
  SPECULATIVE_MODES,
  type FlashAttentionMode,
  type KvCacheType,
  type SpeculativeMode,
} from "../../../../shared/api/loadOptions.js";
import type { LoadModelOptions } from "../../../../shared/contract/index.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";
import { Dialog } from "../../components/Dialog.js";
import { FitBadge } from "./FitBadge.js";
import { DEFAULT_LOAD_DIALOG_FORM, estimateKey, toLoadModelOptions, type GpuMode, type LoadDialogForm } from "./loadDialogForm.js";

interface LoadModelDialogProps {
  model: LibraryModel;
  /** LoRA adapters in the library that can be applied to the model. */
  adapters: LibraryModel[];
  /** Other models of the library that may draft for it (speculative "draft"); the load checks their vocabulary. */
  draftCandidates: LibraryModel[];
  onLoad: (options: LoadModelOptions) => void;
  onCancel: () => void;
}

/** Wait after the last change before estimating again (typing a number changes it at each key). */
const ESTIMATE_DELAY_MS = 300;

const FLASH_ATTENTION_LABELS: Record<FlashAttentionMode, string> = { auto: "Auto (where supported)", on: "On", off: "Off" };
const SPECULATIVE_LABELS: Record<SpeculativeMode, string> = {
  off: "Off",
  "prompt-lookup": "Prompt lookup (answers that repeat the input)",
  draft: "Draft model (a smaller model drafts)",
};
const KV_CACHE_LABELS: Record<KvCacheType, string> = { f16: "F16 (full quality)", q8_0: "Q8_0 (about half the memory)", q4_0: "Q4_0 (about a quarter)" };

/**
 * Options of loading a model: context size, GPU layers, parallel sequences, idle TTL, LoRA
 * adapters and the runtime options (flash attention, KV cache type, batch size, mmap, mlock),
 * with a fit estimate that follows them.
 */
export function LoadModelDialog({ model, adapters, draftCandidates, onLoad, onCancel }: LoadModelDialogProps) {
  const { models } = useAppStores();
  const estimate = useModels((state) => (state.loadEstimate?.id === model.id ? state.loadEstimate : null));
  const defaultContext = Math.min(model.contextLength ?? 4096, 4096);
  const [form, setForm] = useState<LoadDialogForm>(DEFAULT_LOAD_DIALOG_FORM);
  const [error, setError] = useState<string | null>(null);
  const update = (patch: Partial<LoadDialogForm>): void => setForm((current) => ({ ...current, ...patch }));

  const parsed = useMemo(() => toLoadModelOptions(form), [form]);
  const key = "options" in parsed ? estimateKey(parsed.options) : null;
  useEffect(() => {
    if (!("options" in parsed)) return;
    const timer = setTimeout(() => void models.getState().estimateLoad(model.id, parsed.options), ESTIMATE_DELAY_MS);
    return () => clearTimeout(timer);
    // Keyed on the options that change the estimate only: a new TTL or adapter starts none.
  }, [key, model.id, models]);
  useEffect(() => () => models.getState().clearLoadEstimate(), [models]);

  const submit = (): void => {
    if ("error" in parsed) return setError(parsed.error);
    onLoad(parsed.options);
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
          <input type="number" min={16} step={1} inputMode="numeric" placeholder={String(defaultContext)} value={form.contextSize} onChange={(event) => update({ contextSize: event.target.value })} />
          <span className="field-hint">Per sequence. Trained for {model.contextLength?.toLocaleString() ?? "an unknown number of"} tokens.</span>
        </label>
        <label className="field">
          <span className="field-label">GPU layers</span>
          <select value={form.gpuMode} onChange={(event) => update({ gpuMode: event.target.value as GpuMode })}>
            <option value="auto">Auto (as many as fit)</option>
            <option value="max">All layers</option>
            <option value="count">A number of layers…</option>
          </select>
        </label>
        {form.gpuMode === "count" && (
          <label className="field">
            <span className="field-label">Layers on the GPU</span>
            <input type="number" min={0} step={1} value={form.gpuLayers} onChange={(event) => update({ gpuLayers: event.target.value })} />
          </label>
        )}
        <label className="field">
          <span className="field-label">Parallel sequences</span>
          <input type="number" min={1} step={1} placeholder="4" value={form.parallel} onChange={(event) => update({ parallel: event.target.value })} />
          <span className="field-hint">Requests generating at once.</span>
        </label>
        <label className="field">
          <span className="field-label">Unload after idle (minutes)</span>
          <input type="number" step="any" placeholder="15" value={form.ttl} onChange={(event) => update({ ttl: event.target.value })} />
          <span className="field-hint">0 unloads as soon as idle; −1 keeps it loaded.</span>
        </label>
        <label className="field">
          <span className="field-label">Flash attention</span>
          <select value={form.flashAttention} onChange={(event) => update({ flashAttention: event.target.value as FlashAttentionMode })} data-testid="load-flash-attention">
            {FLASH_ATTENTION_MODES.map((mode) => (
              <option key={mode} value={mode}>
                {FLASH_ATTENTION_LABELS[mode]}
              </option>
            ))}
          </select>
          <span className="field-hint">Faster, smaller attention; a quantized KV cache needs it.</span>
        </label>
        <label className="field">
          <span className="field-label">KV cache type</span>
          <select value={form.kvCacheType} onChange={(event) => update({ kvCacheType: event.target.value as KvCacheType })} data-testid="load-kv-cache-type">
            {KV_CACHE_TYPES.map((type) => (
              <option key={type} value={type}>
                {KV_CACHE_LABELS[type]}
              </option>
            ))}
          </select>
          <span className="field-hint">Memory of the context; quantized types cost some quality.</span>
        </label>
        <label className="field">
          <span className="field-label">Batch size (tokens)</span>
          <input type="number" min={1} max={MAX_BATCH_SIZE} step={1} placeholder="512" value={form.batchSize} onChange={(event) => update({ batchSize: event.target.value })} />
          <span className="field-hint">Prompt tokens evaluated at once: larger is faster, and takes more memory.</span>
        </label>
        <label className="checkbox" title="Memory-map the model file: the OS pages the weights in and can share them">
          <input type="checkbox" checked={form.useMmap} onChange={(event) => update({ useMmap: event.target.checked })} /> Memory-map the file (mmap)
        </label>
        <label className="checkbox" title="Keep the weights in RAM, never swapped out; the system may refuse the lock">
          <input type="checkbox" checked={form.useMlock} onChange={(event) => update({ useMlock: event.target.checked })} /> Lock in RAM (mlock)
        </label>
        <label className="field">
          <span className="field-label">Speculative decoding</span>
          <select
            value={form.speculative}
            onChange={(event) => update({ speculative: event.target.value as SpeculativeMode })}
            data-testid="load-speculative"
            title="The model checks drafted tokens in one batch: the same answer, faster when the drafts are right"
          >
            {SPECULATIVE_MODES.map((mode) => (
              <option key={mode} value={mode} disabled={mode === "draft" && draftCandidates.length === 0}>
                {SPECULATIVE_LABELS[mode]}
              </option>
            ))}
          </select>
        </label>
        {form.speculative === "draft" && (
          <label className="field">
            <span className="field-label">Draft model</span>
            <select value={form.draftModel} onChange={(event) => update({ draftModel: event.target.value })} data-testid="load-draft-model">
              <option value="">Choose a smaller model with the same vocabulary</option>
              {draftCandidates.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.id}
                </option>
              ))}
            </select>
          </label>
        )}
        {adapters.length > 0 && (
          <fieldset className="field" data-testid="lora-adapters">
            <legend className="field-label">LoRA adapters</legend>
            {adapters.map((adapter) => (
              <div key={adapter.id} className="inline-field">
                <label>
                  <input
                    type="checkbox"
                    checked={adapter.id in form.lora}
                    onChange={(event) =>
                      setForm((current) => {
                        const lora = { ...current.lora };
                        if (event.target.checked) lora[adapter.id] = "1";
                        else delete lora[adapter.id];
                        return { ...current, lora };
                      })
                    }
                  />{" "}
                  {adapter.id}
                </label>
                {adapter.id in form.lora && (
                  <input
                    type="number"
                    step="any"
                    aria-label={`Scale of ${adapter.id}`}
                    value={form.lora[adapter.id]}
                    onChange={(event) => setForm((current) => ({ ...current, lora: { ...current.lora, [adapter.id]: event.target.value } }))}
                  />
                )}
              </div>
            ))}
            <span className="field-hint">Applied at load; the scale sets how strongly (1 = fully).</span>
          </fieldset>
        )}
        <div className="field" data-testid="load-estimate" aria-live="polite">
          <span className="field-label">Fit on this machine</span>
          {"error" in parsed ? (
            <span className="field-hint">{parsed.error}</span>
          ) : estimate?.error ? (
            <span className="field-hint">{estimate.error}</span>
          ) : estimate?.fit ? (
            <span className="field-hint">
              <FitBadge fit={estimate.fit} /> {estimate.fit.reason}
              {estimate.estimating ? " (estimating…)" : ""}
            </span>
          ) : (
            <span className="field-hint">Estimating…</span>
          )}
        </div>
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
