import type { GgmlType, LlamaContext, LlamaModel } from "node-llama-cpp";
import {
  effectiveSpeculativeMode,
  findLoadOptionsProblem,
  type EffectiveLoadOptions,
  type FlashAttentionMode,
  type KvCacheType,
  type RuntimeLoadOptions,
} from "../../shared/api/loadOptions.js";
import { InvalidArgumentError } from "../errors.js";

/** A KV cache type as node-llama-cpp names it (a key of its `GgmlType` enum). */
export type LlamaKvCacheTypeName = "F16" | "Q8_0" | "Q4_0";

const LLAMA_KV_TYPE_NAMES: Record<KvCacheType, LlamaKvCacheTypeName> = { f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" };

/** What node-llama-cpp is given for one load's runtime options (resolved, checked against the model). */
export interface LlamaLoadOptions {
  /** For `llama.loadModel`, as the model's context defaults so GPU layer resolution counts them. */
  model: {
    defaultContextFlashAttention: "auto" | boolean;
    experimentalDefaultContextKvCacheKeyType: LlamaKvCacheTypeName;
    experimentalDefaultContextKvCacheValueType: LlamaKvCacheTypeName;
    useMmap?: boolean;
    useMlock?: boolean;
  };
  /** For `model.createContext`. */
  context: { batchSize?: number };
  /** The flash attention the estimate should assume (node-llama-cpp turns it off for a model that cannot use it). */
  estimateFlashAttention: "auto" | boolean;
}

/**
 * Checks a load's runtime options (already merged with the server's defaults) and turns them
 * into node-llama-cpp's. Flash attention "on" is refused for a model that cannot use it (rather
 * than silently turned off), and a quantized V cache, which needs it, turns "auto" into "on".
 * The KV cache types are node-llama-cpp's "experimental" options: llama.cpp supports q8_0 and
 * q4_0 caches on every backend, and the cross checks here refuse the combinations it rejects.
 * @throws InvalidArgumentError naming the option
 */
export function toLlamaLoadOptions(options: RuntimeLoadOptions, flashAttentionSupported: boolean): LlamaLoadOptions {
  assertLoadOptions(options);
  const keyType = options.kvCacheKeyType ?? "f16";
  const valueType = options.kvCacheValueType ?? "f16";
  let flashAttention: FlashAttentionMode = options.flashAttention ?? "auto";
  if (valueType !== "f16" && flashAttention === "auto") flashAttention = "on";
  if (flashAttention === "on" && !flashAttentionSupported) {
    // llama.cpp's rule, as node-llama-cpp reads it from the header: gemma2, grok, or K and V heads of different sizes.
    const param = options.flashAttention === "on" ? "flashAttention" : "kvCacheValueType";
    const why = param === "flashAttention" ? "set flashAttention to auto or off" : `a ${valueType} V cache needs it: use kvCacheValueType f16`;
    throw new InvalidArgumentError(`This model cannot use flash attention (${why})`, param);
  }
  const llamaFlashAttention = flashAttention === "auto" ? "auto" : flashAttention === "on";
  return {
    model: {
      defaultContextFlashAttention: llamaFlashAttention,
      experimentalDefaultContextKvCacheKeyType: LLAMA_KV_TYPE_NAMES[keyType],
      experimentalDefaultContextKvCacheValueType: LLAMA_KV_TYPE_NAMES[valueType],
      ...(options.useMmap !== undefined ? { useMmap: options.useMmap } : {}),
      ...(options.useMlock !== undefined ? { useMlock: options.useMlock } : {}),
    },
    context: options.batchSize !== undefined ? { batchSize: options.batchSize } : {},
    estimateFlashAttention: flashAttentionSupported ? llamaFlashAttention : false,
  };
}

/** Throws the first problem of {@link findLoadOptionsProblem}. @throws InvalidArgumentError */
export function assertLoadOptions(options: RuntimeLoadOptions): void {
  const problem = findLoadOptionsProblem(options);
  if (problem) throw new InvalidArgumentError(problem.message, problem.param);
}

/** The runtime options a created context runs with, for `info.loadOptions`. */
export function describeEffectiveLoadOptions(
  model: LlamaModel,
  context: LlamaContext,
  ggmlType: typeof GgmlType,
  requested: RuntimeLoadOptions,
): EffectiveLoadOptions {
  const typeName = (type: GgmlType): string => (ggmlType[type] ?? String(type)).toLowerCase();
  const flashAttention = context.flashAttention;
  return {
    flashAttention: flashAttention === "auto" ? "auto" : flashAttention ? "on" : "off",
    kvCacheKeyType: typeName(context.kvCacheKeyType),
    kvCacheValueType: typeName(context.kvCacheValueType),
    batchSize: context.batchSize,
    useMmap: model.useMmap,
    useMlock: requested.useMlock ?? false,
    speculative: effectiveSpeculativeMode(requested),
  };
}
