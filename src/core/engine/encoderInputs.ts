import { LlamaVocabularyType, type LlamaModel, type Token } from "node-llama-cpp";

// What node-llama-cpp 3.21.1's embedding and ranking contexts evaluate for a text, and how a
// ranking head's output becomes a score. node-llama-cpp keeps these rules internal; the batched
// path (BatchEmbedder) must evaluate exactly the same tokens to give the same vectors and scores
// as node-llama-cpp, which stays the fallback.

/** The token put before an evaluated text, by the vocabulary's rules (llama.cpp's tokenizer). */
function beginningToken(model: LlamaModel): Token | null {
  const type = model.vocabularyType;
  if (type === LlamaVocabularyType.rwkv || type === LlamaVocabularyType.ugm) return null;
  if (type === LlamaVocabularyType.wpm) return model.tokens.bos;
  return model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
}

/** The token put after an evaluated text, by the vocabulary's rules. */
function endToken(model: LlamaModel): Token | null {
  const type = model.vocabularyType;
  if (type === LlamaVocabularyType.rwkv) return null;
  if (type === LlamaVocabularyType.wpm) return model.tokens.sep;
  if (type === LlamaVocabularyType.ugm) return model.tokens.eos;
  return model.tokens.shouldAppendEosToken ? model.tokens.eos : null;
}

/** The tokens an embedding evaluates for an input: its tokens between the beginning and end tokens the vocabulary asks for. */
export function embeddingInputTokens(model: LlamaModel, tokens: readonly Token[]): Token[] {
  const prepared = [...tokens];
  const begin = beginningToken(model);
  if (begin != null && prepared[0] !== begin) prepared.unshift(begin);
  const end = endToken(model);
  if (end != null && prepared.at(-1) !== end) prepared.push(end);
  return prepared;
}

/** The model's ranking template (`tokenizer.chat_template.rerank`, `{query}` and `{document}` placeholders), if any. */
function rankingTemplate(model: LlamaModel): string | undefined {
  const template = (model.fileInfo.metadata?.tokenizer as Record<string, unknown> | undefined)?.["chat_template.rerank"];
  return typeof template === "string" ? template.replaceAll("{query}", "{{query}}").replaceAll("{document}", "{{document}}") : undefined;
}

/**
 * The tokens a ranking evaluates for a query and a document: the model's ranking template with
 * both filled in, else `[bos] query [eos] [sep] document [eos]`.
 */
export function rankingInputTokens(model: LlamaModel, query: string, document: string): Token[] {
  const queryTokens = model.tokenize(query, false, "trimLeadingSpace");
  const documentTokens = model.tokenize(document, false, "trimLeadingSpace");
  const template = rankingTemplate(model);
  if (template === undefined) {
    const { bos, eos, sep } = model.tokens;
    return [...(bos == null ? [] : [bos]), ...queryTokens, ...(eos == null ? [] : [eos]), ...(sep == null ? [] : [sep]), ...documentTokens, ...(eos == null ? [] : [eos])];
  }
  const input = template.split(/(\{\{query\}\}|\{\{document\}\})/).flatMap((part) => {
    if (part === "{{query}}") return queryTokens;
    if (part === "{{document}}") return documentTokens;
    return part === "" ? [] : model.tokenize(part, true, "trimLeadingSpace");
  });
  const begin = beginningToken(model);
  if (begin != null && input[0] !== begin) input.unshift(begin);
  const end = endToken(model);
  // node-llama-cpp 3.21.1 puts this end token in front, not at the end; done alike, so that both paths score the same.
  if (end != null && input.at(-1) !== end) input.unshift(end);
  return input;
}

/**
 * A relevance score (0 to 1) from the ranking head's first output: llama.cpp already applies a
 * softmax for Qwen3 rankers; the others give a logit, put through a sigmoid.
 */
export function rankingScore(model: LlamaModel, output: number): number {
  const architecture = model.fileInfo.metadata?.general?.architecture as string | undefined;
  return architecture === "qwen3" || architecture === "qwen3vl" ? output : 1 / (1 + Math.exp(-output));
}
