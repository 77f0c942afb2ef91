import { findLoadOptionsProblem, type FlashAttentionMode, type KvCacheType, type SpeculativeMode } from "../../../../shared/api/loadOptions.js";
import type { LoadModelOptions } from "../../../../shared/contract/index.js";

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

/**
 * The load options of the form, or why it cannot be loaded as filled in. The KV cache type,
 * flash attention and mlock are always sent (what the dialog shows is what loads); mmap only
 * when it is turned off (on is the default, and "auto" lets node-llama-cpp trade it for GPU layers).
 */
export function toLoadModelOptions(form: LoadDialogForm): { options: LoadModelOptions } | { error: string } {
  const context = parseInteger(form.contextSize);
  const layers = parseInteger(form.gpuLayers);
  const sequences = parseInteger(form.parallel);
  const batch = parseInteger(form.batchSize);
  const ttlValue = form.ttl.trim() === "" ? undefined : Number(form.ttl);
  if (context === "invalid" || (context !== undefined && context < 16)) return { error: "Context size must be a whole number of tokens (at least 16)." };
  if (form.gpuMode === "count" && (layers === undefined || layers === "invalid" || layers < 0)) return { error: "GPU layers must be a whole number, 0 or more." };
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
