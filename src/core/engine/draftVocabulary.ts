/**
 * Whether a draft model can draft for a target model: speculative decoding hands the draft's
 * token ids to the target unchanged, so both must mean the same text by the same id. The rules
 * are llama.cpp's own (`common_speculative_are_compatible`): the same tokenizer kind, the same
 * beginning and end tokens, vocabularies that differ by at most 128 entries, and the same text
 * for every shared id from 5 on (the first ids are control tokens some conversions renumber).
 */

/** The parts of a GGUF header's `tokenizer.ggml` this check reads. */
export interface DraftVocabulary {
  model?: unknown;
  tokens?: unknown;
  bos_token_id?: unknown;
  eos_token_id?: unknown;
}

const MAX_VOCABULARY_SIZE_DIFFERENCE = 128;
const FIRST_CHECKED_TOKEN_ID = 5;

/** Why `draft` cannot draft for `target` (a sentence naming the first difference), or undefined. */
export function findDraftVocabularyMismatch(target: DraftVocabulary | undefined, draft: DraftVocabulary | undefined): string | undefined {
  if (target?.model !== draft?.model) return `its tokenizer is ${String(draft?.model)}, the model's is ${String(target?.model)}`;
  const targetTokens = Array.isArray(target?.tokens) ? (target.tokens as unknown[]) : [];
  const draftTokens = Array.isArray(draft?.tokens) ? (draft.tokens as unknown[]) : [];
  if (targetTokens.length === 0 || draftTokens.length === 0) return "a vocabulary is missing from a model's header";
  const difference = Math.abs(targetTokens.length - draftTokens.length);
  if (difference > MAX_VOCABULARY_SIZE_DIFFERENCE) {
    return `its vocabulary has ${draftTokens.length} tokens, the model's ${targetTokens.length} (at most ${MAX_VOCABULARY_SIZE_DIFFERENCE} apart)`;
  }
  if (target?.bos_token_id !== draft?.bos_token_id || target?.eos_token_id !== draft?.eos_token_id) {
    return "its beginning or end token differs from the model's";
  }
  const shared = Math.min(targetTokens.length, draftTokens.length);
  for (let id = FIRST_CHECKED_TOKEN_ID; id < shared; id++) {
    if (targetTokens[id] !== draftTokens[id]) return `token ${id} differs from the model's`;
  }
  return undefined;
}
