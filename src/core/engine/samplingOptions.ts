import { TokenBias, type LlamaModel, type Token } from "node-llama-cpp";
import type { ResolvedGenerationOptions } from "./generationOptions.js";

/** Sampling fields shared by node-llama-cpp's LlamaChat and LlamaCompletion. */
export interface LlamaSamplingOptions {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  seed?: number;
  repeatPenalty:
    | false
    | { penalty: number; presencePenalty: number; frequencyPenalty: number; lastTokens: number };
  tokenBias?: TokenBias;
  customStopTriggers?: string[];
}

/** How many recent tokens the repetition penalties look at (llama.cpp's default). */
const REPEAT_PENALTY_LAST_TOKENS = 64;

/** Maps our validated options onto node-llama-cpp's sampling options. */
export function toLlamaSamplingOptions(
  options: ResolvedGenerationOptions,
  endOfGenerationTokens: () => readonly Token[],
  model: LlamaModel,
): LlamaSamplingOptions {
  const penalised = options.repeatPenalty !== 1 || options.presencePenalty !== 0 || options.frequencyPenalty !== 0;
  let tokenBias: TokenBias | undefined;
  if (options.ignoreEos) {
    // Like llama-server's ignore_eos: end-of-generation tokens can never be sampled.
    tokenBias = new TokenBias(model.tokenizer);
    // TokenBias.set() silently skips end-of-generation tokens, so the bias is written to the map
    // the native sampler reads. node-llama-cpp is pinned to 3.21.1; the ignoreEos integration
    // test fails loudly if this internal ever changes.
    const biases = (tokenBias as unknown as { _biases?: Map<Token, number> })._biases;
    if (!(biases instanceof Map)) throw new Error("ignoreEos is not supported by this node-llama-cpp version");
    for (const token of endOfGenerationTokens()) biases.set(token, Number.NEGATIVE_INFINITY);
  }
  return {
    temperature: options.temperature,
    topP: options.topP,
    topK: options.topK,
    minP: options.minP,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    repeatPenalty: penalised
      ? {
          penalty: options.repeatPenalty,
          presencePenalty: options.presencePenalty,
          frequencyPenalty: options.frequencyPenalty,
          lastTokens: REPEAT_PENALTY_LAST_TOKENS,
        }
      : false,
    ...(tokenBias ? { tokenBias } : {}),
    ...(options.stop.length > 0 ? { customStopTriggers: options.stop } : {}),
  };
}

/** Every end-of-generation token of a vocabulary (EOS, EOT, <|im_end|>, <end_of_turn>, ...). */
export function findEndOfGenerationTokens(model: LlamaModel): Token[] {
  const found = new Set<Token>();
  for (const token of [model.tokens.eos, model.tokens.eot]) if (token !== null) found.add(token);
  const vocabularySize = model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  for (let id = 0; id < vocabularySize; id++) {
    const token = id as Token;
    if (model.isEogToken(token)) found.add(token);
  }
  return [...found];
}
