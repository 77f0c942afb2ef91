import {
  FLASH_ATTENTION_MODES,
  findLoadOptionsProblem,
  KV_CACHE_TYPES,
  MAX_BATCH_SIZE,
  SPECULATIVE_MODES,
  type SpeculativeMode,
  type FlashAttentionMode,
  type KvCacheType,
  type RuntimeLoadOptions,
} from "../shared/api/loadOptions.js";
import { CliUsageError } from "./cliError.js";
import { parseIntegerFlag } from "./parseCommandArgs.js";

/** The runtime load option flags, for `parseCommandArgs` (serve and inspect take the same). */
export const LOAD_OPTION_FLAGS = {
  "flash-attention": { type: "string" },
  "kv-cache-type": { type: "string" },
  "kv-cache-key-type": { type: "string" },
  "kv-cache-value-type": { type: "string" },
  "batch-size": { type: "string" },
  "no-mmap": { type: "boolean" },
  mlock: { type: "boolean" },
  speculative: { type: "string" },
  "draft-model": { type: "string" },
} as const;

/** Their help lines (aligned as the commands' other options). */
export const LOAD_OPTION_HELP = `  --flash-attention <m>   ${FLASH_ATTENTION_MODES.join(" | ")}: flash attention (default auto; a quantized
                          V cache needs it)
  --kv-cache-type <t>     ${KV_CACHE_TYPES.join(" | ")}: type of the KV cache, K and V (default f16;
                          q8_0 takes about half the memory, q4_0 a quarter, at some quality cost)
  --kv-cache-key-type <t> --kv-cache-value-type <t>
                          The K or the V cache alone (over --kv-cache-type)
  --batch-size <n>        Tokens evaluated at once, 1 to ${MAX_BATCH_SIZE} (default 512, or the context if smaller)
  --no-mmap               Read the model into memory instead of memory-mapping its file
  --mlock                 Lock the model's weights in RAM (never swapped out)
  --speculative <m>       ${SPECULATIVE_MODES.join(" | ")}: speculative decoding (default off; prompt-lookup
                          drafts tokens from the prompt, same output, faster where answers
                          repeat the input; draft has a smaller model draft them; a
                          request may turn it off)
  --draft-model <id>      The draft model (an id in the models folder, same vocabulary) for
                          speculative draft (implies --speculative draft)
`;

const FLAG_OF: Record<string, string> = {
  flashAttention: "--flash-attention",
  kvCacheKeyType: "--kv-cache-key-type",
  kvCacheValueType: "--kv-cache-value-type",
  batchSize: "--batch-size",
  draftModel: "--draft-model",
};

type LoadOptionFlagValues = { [Flag in keyof typeof LOAD_OPTION_FLAGS]?: (typeof LOAD_OPTION_FLAGS)[Flag]["type"] extends "boolean" ? boolean : string };

function oneOf<T extends string>(flag: string, values: readonly T[], value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  if (!values.includes(value as T)) throw new CliUsageError(`--${flag} must be one of ${values.join(", ")}, got '${value}'`);
  return value as T;
}

/**
 * The runtime load options of the flags (only those given), checked together as a load checks
 * them: a quantized V cache with `--flash-attention off` is a usage error.
 * @throws CliUsageError
 */
export function parseLoadOptionFlags(values: LoadOptionFlagValues): RuntimeLoadOptions {
  const flashAttention: FlashAttentionMode | undefined = oneOf("flash-attention", FLASH_ATTENTION_MODES, values["flash-attention"]);
  const both: KvCacheType | undefined = oneOf("kv-cache-type", KV_CACHE_TYPES, values["kv-cache-type"]);
  const kvCacheKeyType = oneOf("kv-cache-key-type", KV_CACHE_TYPES, values["kv-cache-key-type"]) ?? both;
  const kvCacheValueType = oneOf("kv-cache-value-type", KV_CACHE_TYPES, values["kv-cache-value-type"]) ?? both;
  const batchSize = parseIntegerFlag("batch-size", values["batch-size"], 1, MAX_BATCH_SIZE);
  const speculative: SpeculativeMode | undefined = oneOf("speculative", SPECULATIVE_MODES, values.speculative);
  const options: RuntimeLoadOptions = {
    ...(flashAttention !== undefined ? { flashAttention } : {}),
    ...(kvCacheKeyType !== undefined ? { kvCacheKeyType } : {}),
    ...(kvCacheValueType !== undefined ? { kvCacheValueType } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(values["no-mmap"] ? { useMmap: false } : {}),
    ...(values.mlock ? { useMlock: true } : {}),
    ...(speculative !== undefined ? { speculative } : {}),
    ...(values["draft-model"] !== undefined ? { draftModel: values["draft-model"] } : {}),
  };
  const problem = findLoadOptionsProblem(options);
  // The shared message names the options; here they are flags.
  if (problem) throw new CliUsageError(problem.message.replace(/\b(flashAttention|kvCacheKeyType|kvCacheValueType|batchSize|draftModel)\b/g, (name) => FLAG_OF[name]!));
  return options;
}
