import type { Token } from "node-llama-cpp";
import { loadBatchEmbeddingBinding, type BatchEmbeddingBinding, type NativeEmbeddingContext, type NativeHandle } from "../llama/batchEmbeddingBinding.js";

/** Options of {@link BatchEmbedder.create}. */
export interface BatchEmbedderOptions {
  /** The model file (the same one node-llama-cpp loaded; mapped again, so its pages are shared). */
  modelPath: string;
  /**
   * Layers the generation model has on the GPU. Above 0 the batched encoder is refused: a second
   * copy of those weights would take as much VRAM again (node-llama-cpp embeds them there instead).
   */
  gpuLayers: number;
  /** The model's context size; one evaluation holds at most `min(contextSize, maxBatchTokens)` tokens. */
  contextSize: number;
  threads: number;
  /**
   * Most tokens in one evaluation. Default 512, node-llama-cpp's own batch size for embedding
   * contexts: llama.cpp keeps logits for every token of an embedding batch, so this bounds that
   * memory as node-llama-cpp does.
   */
  maxBatchTokens?: number;
  /** Most texts in one evaluation (at most the batch's tokens). Default 64. */
  maxSequences?: number;
  /** Reads the ranking head (each text's vector is its scores) instead of embeddings. Default: false. */
  ranking?: boolean;
  /** The native binding. Default: {@link loadBatchEmbeddingBinding} (rejects with why it cannot load). */
  binding?: BatchEmbeddingBinding;
}

/**
 * Embeds many texts in few llama.cpp evaluations: texts are packed into one batch as separate
 * sequences and each one's vector is read back (see native/batchEmbedding.cc). node-llama-cpp
 * 3.21.1 evaluates embedding inputs one at a time; this gives the same vectors (the same tokens,
 * the same context settings) in a fraction of the evaluations.
 */
export class BatchEmbedder {
  private disposed = false;

  private constructor(
    private readonly binding: BatchEmbeddingBinding,
    private readonly model: NativeHandle,
    private readonly context: NativeEmbeddingContext,
  ) {}

  /** Loads the model into the binding; rejects when the binding is unavailable (see {@link loadBatchEmbeddingBinding}) or cannot load it. */
  static async create(options: BatchEmbedderOptions): Promise<BatchEmbedder> {
    if (options.gpuLayers > 0) throw new Error("the model is on the GPU, where a second copy would double its memory");
    const binding = options.binding ?? loadBatchEmbeddingBinding();
    if (binding instanceof Error) throw binding;
    const batchTokens = Math.max(8, Math.min(options.contextSize, options.maxBatchTokens ?? 512));
    const model = await binding.loadModel(options.modelPath, { gpuLayers: 0 });
    try {
      const context = await binding.createContext(model, {
        contextSize: batchTokens,
        sequences: Math.min(options.maxSequences ?? 64, batchTokens),
        threads: options.threads,
        ranking: options.ranking ?? false,
      });
      return new BatchEmbedder(binding, model, context);
    } catch (error) {
      binding.freeModel(model);
      throw error;
    }
  }

  /** Most tokens a text may have to be embedded here; longer ones need another path. */
  get batchTokens(): number {
    return this.context.batchSize;
  }

  /** Most texts one evaluation holds. */
  get sequences(): number {
    return this.context.sequences;
  }

  /**
   * The vectors of texts given as the tokens to evaluate (see encoderInputs.ts), each at
   * most {@link batchTokens} long; `evaluations` is how many llama.cpp evaluations they took.
   */
  async embed(texts: readonly (readonly Token[])[]): Promise<{ vectors: number[][]; evaluations: number }> {
    if (this.disposed) throw new Error("The batch embedder is disposed");
    const lengths = Uint32Array.from(texts, (tokens) => tokens.length);
    const tokens = new Int32Array(lengths.reduce((sum, length) => sum + length, 0));
    let offset = 0;
    for (const text of texts) {
      tokens.set(text, offset);
      offset += text.length;
    }
    const { vectors, decodes } = await this.binding.embed(this.context.context, tokens, lengths);
    const size = this.context.dimensions;
    return { vectors: texts.map((_, index) => Array.from(vectors.subarray(index * size, (index + 1) * size))), evaluations: decodes };
  }

  /** Frees the context, then the model. Call when no {@link embed} is running. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.binding.freeContext(this.context.context);
    this.binding.freeModel(this.model);
  }
}
