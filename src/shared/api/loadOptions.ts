/**
 * Runtime options of a model load (flash attention, KV cache types, batch size, mmap, mlock):
 * what the CLI, the contract, the HTTP API and the engine accept, and what a loaded model
 * reports it runs with. The rules that tie them together live here, once, so the UI, the CLI
 * and the core refuse the same combinations with the same words.
 */

/** Flash attention: "auto" lets llama.cpp use it where the model and the device support it. */
export const FLASH_ATTENTION_MODES = ["auto", "on", "off"] as const;
export type FlashAttentionMode = (typeof FLASH_ATTENTION_MODES)[number];

/**
 * Element types of the KV cache: f16 is llama.cpp's default; q8_0 takes about half its memory
 * and q4_0 about a quarter, at some cost in quality (q4_0 more so).
 */
export const KV_CACHE_TYPES = ["f16", "q8_0", "q4_0"] as const;
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];

/**
 * Speculative decoding: "prompt-lookup" drafts the next tokens from the prompt (where the
 * answer repeats the input: edits, summaries, extraction); "draft" has a smaller model of the
 * same vocabulary ({@link RuntimeLoadOptions.draftModel}) draft them. The model checks the
 * drafted tokens in one batch, so the output is the same as without. Requests may turn it off
 * (`speculative: false`).
 */
export const SPECULATIVE_MODES = ["off", "prompt-lookup", "draft"] as const;
export type SpeculativeMode = (typeof SPECULATIVE_MODES)[number];

/** Largest accepted batch size: llama.cpp's compute buffers grow with it. */
export const MAX_BATCH_SIZE = 8192;

/** Runtime options of one load. Every one is optional: unset means the server's default, then llama.cpp's. */
export interface RuntimeLoadOptions {
  /**
   * Flash attention: faster and smaller at long contexts. "on" is refused for a model that
   * cannot use it; with a quantized V cache "auto" means "on". Default: "auto".
   */
  flashAttention?: FlashAttentionMode;
  /** Element type of the K cache. Default: "f16". */
  kvCacheKeyType?: KvCacheType;
  /** Element type of the V cache; a quantized one needs flash attention. Default: "f16". */
  kvCacheValueType?: KvCacheType;
  /**
   * Tokens llama.cpp evaluates at once (prompt processing); at least the number of sequences.
   * Default: 512, or the whole context when it is smaller.
   */
  batchSize?: number;
  /** Memory-map the model file (the OS pages weights in and shares them). Default: on where the OS supports it. */
  useMmap?: boolean;
  /** Lock the weights in RAM so they are never swapped out (the OS may refuse; llama.cpp then warns). Default: off. */
  useMlock?: boolean;
  /** Speculative decoding of the model's sequences (see {@link SPECULATIVE_MODES}). Default: "draft" with a draftModel, else "off". */
  speculative?: SpeculativeMode;
  /**
   * Id of the draft model in the models folder (never a path) for speculative "draft": a
   * smaller model with the target's vocabulary, loaded beside it with the same context size
   * and sequences. Default: none.
   */
  draftModel?: string;
}

/** The speculative mode a load runs with: "draft" when only a draft model is named. */
export function effectiveSpeculativeMode(options: Pick<RuntimeLoadOptions, "speculative" | "draftModel">): SpeculativeMode {
  return options.speculative ?? (options.draftModel !== undefined ? "draft" : "off");
}

/** The runtime options a loaded model actually runs with (`/health`, `/api/ps`). */
export interface EffectiveLoadOptions {
  /** "auto" when llama.cpp decides per device. */
  flashAttention: FlashAttentionMode;
  /** ggml type names, lower case ("f16", "q8_0", ...). */
  kvCacheKeyType: string;
  kvCacheValueType: string;
  batchSize: number;
  useMmap: boolean;
  /** As asked for (the OS may still refuse the lock). */
  useMlock: boolean;
  speculative: SpeculativeMode;
  /** The draft model's id, with speculative "draft". */
  draftModel?: string;
}

/** A load option that cannot be used, with the reason. */
export interface LoadOptionsProblem {
  param: keyof RuntimeLoadOptions;
  message: string;
}

const isOneOf = <T extends string>(values: readonly T[], value: unknown): value is T => values.includes(value as T);

/**
 * Why these options (after merging the server's defaults) cannot be loaded, or undefined.
 * Checks each value (they may come from anywhere) and the combinations llama.cpp refuses:
 * a quantized V cache without flash attention fails to create its context.
 */
export function findLoadOptionsProblem(options: RuntimeLoadOptions): LoadOptionsProblem | undefined {
  const { flashAttention, kvCacheKeyType, kvCacheValueType, batchSize, useMmap, useMlock, speculative, draftModel } = options;
  if (flashAttention !== undefined && !isOneOf(FLASH_ATTENTION_MODES, flashAttention)) {
    return { param: "flashAttention", message: `flashAttention must be one of ${FLASH_ATTENTION_MODES.join(", ")}` };
  }
  for (const [param, value] of [["kvCacheKeyType", kvCacheKeyType], ["kvCacheValueType", kvCacheValueType]] as const) {
    if (value !== undefined && !isOneOf(KV_CACHE_TYPES, value)) return { param, message: `${param} must be one of ${KV_CACHE_TYPES.join(", ")}` };
  }
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE)) {
    return { param: "batchSize", message: `batchSize must be an integer from 1 to ${MAX_BATCH_SIZE}` };
  }
  if (useMmap !== undefined && typeof useMmap !== "boolean") return { param: "useMmap", message: "useMmap must be true or false" };
  if (useMlock !== undefined && typeof useMlock !== "boolean") return { param: "useMlock", message: "useMlock must be true or false" };
  if (speculative !== undefined && !isOneOf(SPECULATIVE_MODES, speculative)) {
    return { param: "speculative", message: `speculative must be one of ${SPECULATIVE_MODES.join(", ")}` };
  }
  if (draftModel !== undefined && (typeof draftModel !== "string" || draftModel.length === 0 || draftModel.length > 1024)) {
    return { param: "draftModel", message: "draftModel must be the id of a model in the models folder" };
  }
  if (speculative === "draft" && draftModel === undefined) {
    return { param: "draftModel", message: 'speculative "draft" needs a draftModel: the id of a smaller model with the same vocabulary' };
  }
  if (draftModel !== undefined && speculative !== undefined && speculative !== "draft") {
    return { param: "draftModel", message: `a draftModel is used only with speculative "draft", not "${speculative}"` };
  }
  if (kvCacheValueType !== undefined && kvCacheValueType !== "f16" && flashAttention === "off") {
    return {
      param: "kvCacheValueType",
      message: `a ${kvCacheValueType} V cache needs flash attention, which is off: set flashAttention to on or auto, or kvCacheValueType to f16`,
    };
  }
  return undefined;
}
