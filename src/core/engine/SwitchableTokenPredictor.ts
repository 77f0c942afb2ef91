import { TokenPredictor, type LlamaContextSequence, type SequenceEvaluateOptions, type Token } from "node-llama-cpp";

/**
 * A token predictor that can be turned off per generation. node-llama-cpp fixes a sequence's
 * predictor when the sequence is created, but speculative decoding is chosen per request (an
 * input-heavy edit gains from prompt lookup, a short chat answer only pays its overhead): the
 * sequence keeps this wrapper, and each generation says whether the inner predictor speaks.
 * Switched off, it predicts nothing, so the sequence decodes one token at a time as without one.
 * Predictions never change the output: llama.cpp validates every predicted token against the
 * model's own choice, so only the number of tokens per evaluation changes.
 */
export class SwitchableTokenPredictor extends TokenPredictor {
  private enabled = false;

  constructor(private readonly inner: TokenPredictor) {
    super();
  }

  /** Takes effect at the next generation's `reset`; call it before the generation starts. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  reset(params: { targetSequence: LlamaContextSequence; stateTokens: Token[]; evaluateOptions: Readonly<SequenceEvaluateOptions> }): Promise<void> | void {
    if (this.enabled) return this.inner.reset(params);
  }

  pushTokens(tokens: Token[]): void {
    if (this.enabled) this.inner.pushTokens(tokens);
  }

  predictTokens(): Promise<Token[]> | Token[] {
    return this.enabled ? this.inner.predictTokens() : [];
  }

  override stop(untilPredictionsExhausted?: boolean): Promise<void> | void {
    return this.inner.stop(untilPredictionsExhausted);
  }

  override updateInputTokens(tokens: Token[]): void {
    if (this.enabled) this.inner.updateInputTokens(tokens);
  }

  override dispose(): Promise<void> | void {
    return this.inner.dispose();
  }
}
