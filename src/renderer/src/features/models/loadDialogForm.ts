import type { FitEstimate } from "../../../../shared/api/hub.js";
import { findLoadOptionsProblem, type FlashAttentionMode, type KvCacheType, type SpeculativeMode } from "../../../../shared/api/loadOptions.js";
import type { LoadModelOptions } from "../../../../shared/contract/index.js";
import { formatBytes } from "../../lib/format.js";

export type GpuMode = "auto" | "max" | "count";

/** What the load dialog's fields hold (text as typed). */
export interface LoadDialogForm {
  contextSize: string;
  gpuMode: GpuMode;
  gpuLayers: string;
  parallel: string;
  /** Minutes of idleness before it unloads. */
  ttl: string;
  /** Chosen adapters and their scale text, by adapter id. */
  lora: Record<string, string>;
  flashAttention: FlashAttentionMode;
  /** Applied to both the K and the V cache. */
  kvCacheType: KvCacheType;
  batchSize: string;
  useMmap: boolean;
  useMlock: boolean;
  speculative: SpeculativeMode;
  /** The draft model's id for speculative "draft" ("" while none is chosen). */
  draftModel: string;
}

/** The dialog's defaults: the server's own where a field is blank, llama.cpp's usual choices otherwise. */
export const DEFAULT_LOAD_DIALOG_FORM: LoadDialogForm = {
  contextSize: "",
  gpuMode: "auto",
  gpuLayers: "",
  parallel: "",
  ttl: "",
  lora: {},
  flashAttention: "auto",
  kvCacheType: "f16",
  batchSize: "",
  useMmap: true,
  useMlock: false,
  speculative: "off",
  draftModel: "",
};

/** Parses an optional integer field: "" → undefined; anything else must be an integer. */
function parseInteger(text: string): number | undefined | "invalid" {
  if (text.trim() === "") return undefined;
  const value = Number(text);
  return Number.isInteger(value) ? value : "invalid";
}

/** Words for a rule of the shared load option checks, as the dialog names its fields. */
const FIELD_NAMES: Record<string, string> = {
  flashAttention: "flash attention",
  kvCacheKeyType: "the KV cache type",
  kvCacheValueType: "the KV cache type",
  batchSize: "the batch size",
  draftModel: "draft model",
};

/** What the model allows, from its library entry. */
export interface LoadLimits {
  /** Layers that can go on the GPU (the library's `layerCount`). Default: unknown, no upper bound. */
  layerCount?: number;
}

/**
 * The load options of the form, or why it cannot be loaded as filled in. The KV cache type,
 * flash attention and mlock are always sent (what the dialog shows is what loads); mmap only
 * when it is turned off (on is the default, and "auto" lets node-llama-cpp trade it for GPU layers).
 */
export function toLoadModelOptions(form: LoadDialogForm, limits: LoadLimits = {}): { options: LoadModelOptions } | { error: string } {
  const context = parseInteger(form.contextSize);
  const layers = parseInteger(form.gpuLayers);
  const sequences = parseInteger(form.parallel);
  const batch = parseInteger(form.batchSize);
  const ttlValue = form.ttl.trim() === "" ? undefined : Number(form.ttl);
  if (context === "invalid" || (context !== undefined && context < 16)) return { error: "Context size must be a whole number of tokens (at least 16)." };
  if (form.gpuMode === "count" && (layers === undefined || layers === "invalid" || layers < 0)) return { error: "GPU layers must be a whole number, 0 or more." };
  if (form.gpuMode === "count" && limits.layerCount !== undefined && (layers as number) > limits.layerCount) {
    return { error: `GPU layers can be at most ${limits.layerCount}: the model has ${limits.layerCount} layers.` };
  }
  if (sequences === "invalid" || (sequences !== undefined && sequences < 1)) return { error: "Parallel sequences must be a whole number, 1 or more." };
  if (batch === "invalid") return { error: "Batch size must be a whole number of tokens." };
  if (ttlValue !== undefined && !Number.isFinite(ttlValue)) return { error: "Unload after must be a number of minutes." };
  const loraAdapters = Object.entries(form.lora).map(([id, scaleText]) => ({ id, scale: scaleText.trim() === "" ? 1 : Number(scaleText) }));
  if (loraAdapters.some((adapter) => !Number.isFinite(adapter.scale))) return { error: "An adapter's scale must be a number (1 applies it fully)." };
  const options: LoadModelOptions = {
    gpuLayers: form.gpuMode === "count" ? (layers as number) : form.gpuMode,
    flashAttention: form.flashAttention,
    kvCacheKeyType: form.kvCacheType,
    kvCacheValueType: form.kvCacheType,
    useMlock: form.useMlock,
    speculative: form.speculative,
  };
  if (context !== undefined) options.contextSize = context;
  if (sequences !== undefined) options.parallel = sequences;
  if (batch !== undefined) options.batchSize = batch;
  if (!form.useMmap) options.useMmap = false;
  if (ttlValue !== undefined) options.ttlMinutes = ttlValue;
  if (loraAdapters.length > 0) options.loraAdapters = loraAdapters;
  if (form.speculative === "draft" && form.draftModel !== "") options.draftModel = form.draftModel;
  const problem = findLoadOptionsProblem(options);
  if (problem) {
    const message = problem.message.replace(/\b(flashAttention|kvCacheKeyType|kvCacheValueType|batchSize|draftModel)\b/g, (name) => FIELD_NAMES[name]!);
    return { error: `${message[0]!.toUpperCase()}${message.slice(1)}.` };
  }
  return { options };
}

/** The options that change the fit estimate (the TTL, GPU layers and adapters do not), for telling when to estimate again. */
export function estimateKey(options: LoadModelOptions): string {
  const { contextSize, parallel, flashAttention, kvCacheKeyType, kvCacheValueType, batchSize, useMmap, draftModel } = options;
  return JSON.stringify([contextSize, parallel, flashAttention, kvCacheKeyType, kvCacheValueType, batchSize, useMmap, draftModel]);
}

/** The server's default context size: the trained context, at most this (the engine's DEFAULT_MAX_CONTEXT_SIZE). */
export const DEFAULT_CONTEXT_SIZE = 4096;

/** The context size a load of the form would get: the one typed in, else the server's default; undefined while unknown or invalid. */
export function effectiveContextSize(form: LoadDialogForm, trainedContext: number | undefined): number | undefined {
  const typed = parseInteger(form.contextSize);
  if (typed === "invalid") return undefined;
  return typed ?? Math.min(trainedContext ?? DEFAULT_CONTEXT_SIZE, DEFAULT_CONTEXT_SIZE);
}

/** The warning for a context beyond the one the model was trained for (null within it, or when either is unknown). */
export function trainedContextWarning(contextSize: number | undefined, trainedContext: number | undefined): string | null {
  if (contextSize === undefined || trainedContext === undefined || contextSize <= trainedContext) return null;
  return `This model was trained for ${trainedContext.toLocaleString()} tokens; beyond that its output degrades (and the context takes more memory).`;
}

/** What the dialog shows of an estimate for the chosen GPU layers: the memory the load takes against the free memory. */
export interface MemoryFit {
  /** RAM and VRAM the load would take with these GPU layers. */
  ramBytes: number;
  vramBytes: number;
  /** This machine's free memory now. */
  ramFreeBytes: number;
  vramFreeBytes: number;
  /** The GPU backend in use, or false: then everything is in RAM. */
  gpu: string | false;
  /** Whether it fits the free memory, less the estimate's reserve (other apps, estimate error). */
  fits: boolean;
  /** Why it does not fit, in a sentence; null when it fits. */
  warning: string | null;
}

/**
 * The memory a load takes with the chosen GPU layers, from the estimate's two placements
 * (every layer on the CPU, every layer on the GPU): "auto" takes the placement of the verdict,
 * a layer count the share of the way between them (node-llama-cpp offloads layer by layer, so
 * the weights split in about that proportion). Without a GPU, everything counts as RAM.
 */
export function memoryFit(estimate: FitEstimate, gpuMode: GpuMode, gpuLayers?: number): MemoryFit {
  const { needs, machine, headroomFraction } = estimate;
  const usable = (free: number): number => Math.max(0, free) * (1 - headroomFraction);
  const base = { ramFreeBytes: machine.ramFreeBytes, vramFreeBytes: machine.vramFreeBytes, gpu: machine.gpu };
  if (machine.gpu === false) {
    const ramBytes = needs.cpuOnly.ramBytes + needs.cpuOnly.vramBytes;
    const fits = ramBytes <= usable(machine.ramFreeBytes);
    return { ...base, ramBytes, vramBytes: 0, fits, warning: fits ? null : notEnough("RAM", ramBytes, machine.ramFreeBytes) };
  }
  const share =
    gpuMode === "max" ? 1 : gpuMode === "count" ? Math.min(1, Math.max(0, (gpuLayers ?? 0) / Math.max(1, needs.totalLayers))) : estimate.verdict === "fits on GPU" ? 1 : 0;
  const between = (cpu: number, gpu: number): number => Math.round(cpu + (gpu - cpu) * share);
  const ramBytes = between(needs.cpuOnly.ramBytes, needs.fullGpu.ramBytes);
  const vramBytes = between(needs.cpuOnly.vramBytes, needs.fullGpu.vramBytes);
  if (machine.unifiedMemory) {
    const fits = ramBytes + vramBytes <= Math.max(usable(machine.ramFreeBytes), usable(machine.vramFreeBytes));
    return { ...base, ramBytes, vramBytes, fits, warning: fits ? null : notEnough("memory", ramBytes + vramBytes, Math.max(machine.ramFreeBytes, machine.vramFreeBytes)) };
  }
  const ramFits = ramBytes <= usable(machine.ramFreeBytes);
  const vramFits = vramBytes <= usable(machine.vramFreeBytes);
  const warning = !ramFits ? notEnough("RAM", ramBytes, machine.ramFreeBytes) : !vramFits ? notEnough("VRAM", vramBytes, machine.vramFreeBytes) : null;
  return { ...base, ramBytes, vramBytes, fits: ramFits && vramFits, warning };
}

function notEnough(memory: string, needBytes: number, freeBytes: number): string {
  return (
    `This load needs ${formatBytes(needBytes)} of ${memory} but only ${formatBytes(freeBytes)} is free: it may fail, or make the machine swap. ` +
    `Lower the context size or the parallel sequences, use a quantized KV cache, or ${memory === "VRAM" ? "put fewer layers on the GPU" : "use a smaller quantization"}.`
  );
}
