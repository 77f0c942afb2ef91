/**
 * Bounds llama.cpp asserts on (it aborts the whole process rather than report an error), checked
 * on a GGUF file's metadata before the file goes anywhere near it, so the common crafted files
 * get a precise reason instead of a crash.
 */

/** llama.cpp's LLAMA_MAX_LAYERS: per-layer arrays are sized by it. */
export const MAX_LAYERS = 512;
/** llama.cpp's LLAMA_MAX_EXPERTS. */
export const MAX_EXPERTS = 512;
export const MAX_EMBEDDING_LENGTH = 1 << 20;
export const MAX_CONTEXT_LENGTH = 1 << 27;
export const MAX_VOCABULARY = 1 << 22;
/** Real chat templates are a few kilobytes; tool-heavy ones a few tens. */
export const MAX_CHAT_TEMPLATE_BYTES = 1 << 20;

type Metadata = Record<string, unknown>;

const asRecord = (value: unknown): Metadata | undefined => (value && typeof value === "object" && !Array.isArray(value) ? (value as Metadata) : undefined);
const asNumber = (value: unknown): number | undefined => (typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : undefined);

/** A scalar that must be a whole number in [min, max], or an array (per layer) of them. */
function checkCount(name: string, value: unknown, min: number, max: number, options: { perLayer?: boolean; minInArray?: number } = {}): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    if (!options.perLayer) return `${name} must be a number`;
    const values = Array.from(value as ArrayLike<unknown>, asNumber);
    if (values.length > MAX_LAYERS) return `${name} has ${values.length} entries (at most ${MAX_LAYERS} layers)`;
    const floor = options.minInArray ?? min;
    if (values.some((entry) => entry === undefined || !Number.isInteger(entry) || entry < floor || entry > max)) return `${name} has an entry outside ${floor}–${max}`;
    if (values.every((entry) => entry === 0)) return `${name} is 0 for every layer`;
    return undefined;
  }
  const number = asNumber(value);
  if (number === undefined || !Number.isInteger(number)) return `${name} must be a whole number`;
  if (number < min || number > max) return `${name} is ${number} (it must be ${min}–${max})`;
  return undefined;
}

/**
 * Why a model's metadata would crash llama.cpp (or the chat template engine), or undefined
 * when it is within bounds. `metadata` is node-llama-cpp's parsed metadata object.
 */
export function validateModelMetadata(metadata: Metadata): string | undefined {
  const general = asRecord(metadata.general);
  const architecture = typeof general?.architecture === "string" ? general.architecture : undefined;
  if (!architecture) return undefined;
  const arch = asRecord(metadata[architecture]) ?? {};
  const attention = asRecord(arch.attention) ?? {};
  const problem =
    checkCount(`${architecture}.block_count`, arch.block_count, 1, MAX_LAYERS) ??
    checkCount(`${architecture}.embedding_length`, arch.embedding_length, 1, MAX_EMBEDDING_LENGTH) ??
    checkCount(`${architecture}.context_length`, arch.context_length, 1, MAX_CONTEXT_LENGTH) ??
    // Some architectures give per-layer head counts, with 0 for layers without attention.
    checkCount(`${architecture}.attention.head_count`, attention.head_count, 1, 1 << 16, { perLayer: true, minInArray: 0 }) ??
    checkCount(`${architecture}.attention.head_count_kv`, attention.head_count_kv, 1, 1 << 16, { perLayer: true, minInArray: 0 }) ??
    checkCount(`${architecture}.feed_forward_length`, arch.feed_forward_length, 1, 1 << 22, { perLayer: true, minInArray: 0 }) ??
    checkCount(`${architecture}.expert_count`, arch.expert_count, 0, MAX_EXPERTS) ??
    checkCount(`${architecture}.expert_used_count`, arch.expert_used_count, 0, asNumber(arch.expert_count) ?? MAX_EXPERTS);
  if (problem) return problem;
  const tokenizer = asRecord(metadata.tokenizer);
  const tokens = asRecord(tokenizer?.ggml)?.tokens;
  if (Array.isArray(tokens) && tokens.length > MAX_VOCABULARY) return `the vocabulary has ${tokens.length} tokens (at most ${MAX_VOCABULARY})`;
  const template = tokenizer?.chat_template;
  if (typeof template === "string") return checkChatTemplate(template);
  return undefined;
}

/**
 * A chat template is a program run on every request. Refused: one over 1 MB, and loops or
 * repetitions by a literal of a million or more (no real template needs them; they exhaust
 * memory and kill the JavaScript engine).
 */
export function checkChatTemplate(template: string): string | undefined {
  if (Buffer.byteLength(template) > MAX_CHAT_TEMPLATE_BYTES) return `the chat template is larger than ${MAX_CHAT_TEMPLATE_BYTES} bytes`;
  if (/\brange\s*\(\s*[-+]?\d{7,}/.test(template) || /\brange\s*\([^)]*,\s*[-+]?\d{7,}/.test(template)) {
    return "the chat template loops a million times or more (range with a huge bound)";
  }
  if (/\*\s*\d{7,}|\d{7,}\s*\*/.test(template)) return "the chat template repeats something a million times or more";
  return undefined;
}
