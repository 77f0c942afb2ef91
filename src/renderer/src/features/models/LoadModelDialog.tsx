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
import { Badge } from "../../components/Badge.js";
import { Dialog } from "../../components/Dialog.js";
import { ProgressBar } from "../../components/ProgressBar.js";
import { countOf } from "../../lib/plural.js";
import { describeMemoryNeed } from "./fitSummary.js";
import {
  DEFAULT_LOAD_DIALOG_FORM,
  effectiveContextSize,
  estimateKey,
  memoryFit,
  toLoadModelOptions,
  trainedContextWarning,
  type GpuMode,
  type LoadDialogForm,
  type MemoryFit,
} from "./loadDialogForm.js";

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
 * Options of loading a model: context size, GPU layers (of the model's layer count), parallel
 * sequences, idle TTL and LoRA adapters, with the runtime options (flash attention, KV cache
 * type, batch size, mmap, mlock, speculative decoding) under "Advanced". The memory the load
 * would take is shown against the machine's free RAM and VRAM as the options change; a load
 * that does not fit needs a deliberate "load anyway", and a context past the trained one is warned about.
 */
export function LoadModelDialog({ model, adapters, draftCandidates, onLoad, onCancel }: LoadModelDialogProps) {
  const { models } = useAppStores();
  const estimate = useModels((state) => (state.loadEstimate?.id === model.id ? state.loadEstimate : null));
  const trainedContext = model.contextLength;
  const layerCount = model.layerCount;
  const defaultContext = Math.min(trainedContext ?? 4096, 4096);
  const [form, setForm] = useState<LoadDialogForm>(DEFAULT_LOAD_DIALOG_FORM);
  const [error, setError] = useState<string | null>(null);
  const [loadAnyway, setLoadAnyway] = useState(false);
  const update = (patch: Partial<LoadDialogForm>): void => setForm((current) => ({ ...current, ...patch }));

  const parsed = useMemo(() => toLoadModelOptions(form, { layerCount }), [form, layerCount]);
  const key = "options" in parsed ? estimateKey(parsed.options) : null;
  useEffect(() => {
    if (!("options" in parsed)) return;
    const timer = setTimeout(() => void models.getState().estimateLoad(model.id, parsed.options), ESTIMATE_DELAY_MS);
    return () => clearTimeout(timer);
    // Keyed on the options that change the estimate only: a new TTL or adapter starts none.
  }, [key, model.id, models]);
  useEffect(() => () => models.getState().clearLoadEstimate(), [models]);

  const layers = form.gpuMode === "count" ? Number(form.gpuLayers) : undefined;
  const fit = estimate?.fit ? memoryFit(estimate.fit, form.gpuMode, layers) : null;
  const contextWarning = trainedContextWarning(effectiveContextSize(form, trainedContext), trainedContext);
  const blockedByMemory = fit !== null && !fit.fits && !loadAnyway;

  const submit = (): void => {
    if ("error" in parsed) return setError(parsed.error);
    if (blockedByMemory) return;
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
          <input
            type="number"
            min={16}
            step={1}
            inputMode="numeric"
            placeholder={String(defaultContext)}
            value={form.contextSize}
            onChange={(event) => update({ contextSize: event.target.value })}
          />
          <span className="field-hint" data-testid="trained-context">
            Per sequence. Trained for {trainedContext?.toLocaleString() ?? "an unknown number of"} tokens.
          </span>
        </label>
        {contextWarning && (
          <div className="notice notice-warning" role="alert" data-testid="trained-context-warning">
            <span>{contextWarning}</span>
            {trainedContext !== undefined && (
              <button type="button" className="button button-small" onClick={() => update({ contextSize: String(trainedContext) })}>
                Use {trainedContext.toLocaleString()}
              </button>
            )}
          </div>
        )}
        <div className="form-grid-2 load-row">
          <label className="field">
            <span className="field-label">GPU layers</span>
            <select value={form.gpuMode} onChange={(event) => update({ gpuMode: event.target.value as GpuMode })}>
              <option value="auto">Auto (as many as fit)</option>
              <option value="max">All layers{layerCount !== undefined ? ` (${layerCount})` : ""}</option>
              <option value="count">A number of layers…</option>
            </select>
          </label>
          {form.gpuMode === "count" ? (
            <label className="field">
              <span className="field-label">Layers on the GPU</span>
              <span className="input-with-suffix">
                <input
                  type="number"
                  min={0}
                  max={layerCount}
                  step={1}
                  placeholder={layerCount !== undefined ? String(layerCount) : undefined}
                  value={form.gpuLayers}
                  onChange={(event) => update({ gpuLayers: event.target.value })}
                />
                <span className="field-hint" data-testid="gpu-layer-count">
                  {layerCount !== undefined ? `of ${layerCount} layers` : "layers"}
                </span>
              </span>
            </label>
          ) : (
            <div className="field">
              <span className="field-label">Layers</span>
              <span className="field-hint" data-testid="gpu-layer-count">
                {layerCount !== undefined ? countOf(layerCount, "layer") : "Layer count unknown"}
                {fit?.gpu === false ? "; no GPU in use, they run on the CPU" : ""}
              </span>
            </div>
          )}
        </div>
        <div className="form-grid-2 load-row">
          <label className="field">
            <span className="field-label">Parallel sequences</span>
            <input type="number" min={1} step={1} placeholder="4" value={form.parallel} onChange={(event) => update({ parallel: event.target.value })} />
            <span className="field-hint">Requests generating at once; each has the whole context.</span>
          </label>
          <label className="field">
            <span className="field-label">Unload after idle (minutes)</span>
            <input type="number" step="any" placeholder="15" value={form.ttl} onChange={(event) => update({ ttl: event.target.value })} />
            <span className="field-hint">0: as soon as idle; −1: keep loaded.</span>
          </label>
        </div>
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
        <details className="disclosure" data-testid="load-advanced">
          <summary>Advanced: flash attention, KV cache, batch, memory mapping, speculative decoding</summary>
          <div className="form-grid disclosure-body">
            <div className="form-grid-2 load-row">
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
            </div>
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
          </div>
        </details>
        <div className="field load-estimate" data-testid="load-estimate" aria-live="polite" data-fits={fit ? String(fit.fits) : undefined}>
          <span className="field-label">
            Memory on this machine{" "}
            {fit && (
              <Badge tone={fit.fits ? "success" : "danger"} testId="load-fit">
                {fit.fits ? (fit.vramBytes > 0 ? "fits, partly on the GPU" : "fits in RAM") : "does not fit"}
              </Badge>
            )}
            {estimate?.estimating ? <span className="muted"> estimating…</span> : null}
          </span>
          {"error" in parsed ? (
            <span className="field-hint" data-testid="load-options-error">
              {parsed.error}
            </span>
          ) : estimate?.error ? (
            <span className="field-hint">{estimate.error}</span>
          ) : fit && estimate?.fit ? (
            <MemoryBars fit={fit} headroomFraction={estimate.fit.headroomFraction} contextSize={estimate.fit.needs.contextSize} sequences={estimate.fit.needs.sequences} />
          ) : (
            <span className="field-hint">Estimating…</span>
          )}
        </div>
        {fit?.warning && (
          <div className="notice notice-error" role="alert" data-testid="load-memory-warning">
            <span>{fit.warning}</span>
          </div>
        )}
        {fit && !fit.fits && (
          <label className="checkbox">
            <input type="checkbox" checked={loadAnyway} onChange={(event) => setLoadAnyway(event.target.checked)} data-testid="load-anyway" /> Load anyway
          </label>
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
          <button
            type="submit"
            className={fit && !fit.fits ? "button button-danger" : "button button-primary"}
            disabled={blockedByMemory}
            title={blockedByMemory ? "It does not fit the free memory: tick Load anyway to try all the same" : undefined}
          >
            Load
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The memory a load takes against the free memory: one bar each for RAM and (with a GPU) VRAM. */
function MemoryBars({ fit, headroomFraction, contextSize, sequences }: { fit: MemoryFit; headroomFraction: number; contextSize: number; sequences: number }) {
  const tone = (need: number, free: number): "accent" | "warning" | "danger" => (need > free * (1 - headroomFraction) ? "danger" : need > free * 0.7 ? "warning" : "accent");
  const rows: Array<{ name: "RAM" | "VRAM"; testId: string; need: number; free: number }> = [{ name: "RAM", testId: "estimate-ram", need: fit.ramBytes, free: fit.ramFreeBytes }];
  if (fit.gpu !== false) rows.push({ name: "VRAM", testId: "estimate-vram", need: fit.vramBytes, free: fit.vramFreeBytes });
  return (
    <div className="memory-bars">
      {rows.map((row) => {
        const text = describeMemoryNeed(row.need, row.free, row.name, "bar");
        return (
          <div key={row.name} className="memory-bar" data-testid={row.testId} data-need-bytes={row.need} data-free-bytes={row.free}>
            <span className="memory-bar-text">{text}</span>
            <ProgressBar value={row.free > 0 ? row.need / row.free : 1} label={text} tone={tone(row.need, row.free)} />
          </div>
        );
      })}
      <span className="field-hint">
        For {contextSize.toLocaleString()} tokens × {countOf(sequences, "sequence")}
        {fit.gpu === false ? "; no GPU in use" : ` on ${fit.gpu}`}. {Math.round(headroomFraction * 100)}% of the free memory is kept in reserve.
      </span>
    </div>
  );
}
