/**
 * Tiny llama GGUF files, written with the fixture writer, each with one flaw that kills the
 * process that loads or runs it: llama.cpp aborts on a failed GGML_ASSERT, V8 on an array too
 * large to allocate (neither can be caught in-process). For the model host tests: the host
 * dies, the server does not.
 */
import { GgmlType, GgufWriter, LlamaFileType, SPM_CONTROL_TOKENS, SPM_SPACE } from "../fixtures/gguf/index.js";
import { SentencePieceVocab } from "../fixtures/gguf/sentencePieceVocab.js";

export type HostileFlaw =
  /** `llama.block_count = 2^31`: llama.cpp asserts while reading the hyperparameters. */
  | "hugeBlockCount"
  /** `llama.attention.head_count = 0`: llama.cpp asserts (or refuses) while loading. */
  | "zeroHeadCount"
  /** Two vocabulary entries with the same text: llama.cpp asserts while loading the vocabulary. */
  | "duplicateToken"
  /** A negative RMS norm epsilon: the model loads, and ggml asserts on the first decode. */
  | "negativeNormEpsilon"
  /**
   * A chat template whose loop bound is a product (no literal of a million or more): rendering
   * it makes V8 allocate an array beyond its limit ("Fatal JavaScript invalid size error").
   */
  | "explosiveTemplate";

const EMBEDDING = 64;
const FEED_FORWARD = 32;

/** Writes a tiny llama model (one block, small deterministic weights) with `flaw`. */
export async function writeHostileModel(filePath: string, flaw: HostileFlaw): Promise<void> {
  const vocab = new SentencePieceVocab();
  const pieces = [SPM_SPACE, ..."abcdefghijklmnopqrstuvwxyzHT"];
  for (const piece of pieces) vocab.addNormal(piece);
  const nVocab = vocab.size;
  const writer = new GgufWriter()
    .setString("general.architecture", "llama")
    .setString("general.name", `Marduk hostile model (${flaw})`)
    .setUint32("general.file_type", LlamaFileType.allF32)
    .setUint32("llama.context_length", 512)
    .setUint32("llama.embedding_length", EMBEDDING)
    .setUint32("llama.block_count", flaw === "hugeBlockCount" ? 2 ** 31 : 1)
    .setUint32("llama.feed_forward_length", FEED_FORWARD)
    .setUint32("llama.attention.head_count", flaw === "zeroHeadCount" ? 0 : 1)
    .setUint32("llama.attention.head_count_kv", 1)
    .setFloat32("llama.attention.layer_norm_rms_epsilon", flaw === "negativeNormEpsilon" ? -1 : 1e-5)
    .setUint32("llama.rope.dimension_count", EMBEDDING)
    .setUint32("llama.vocab_size", nVocab);
  vocab.writeMetadata(writer);
  if (flaw === "explosiveTemplate") writer.setString("tokenizer.chat_template", "{% for i in range(99999 * 99999) %}{{ i }}{% endfor %}");
  if (flaw === "duplicateToken") {
    // The same pieces in the same order (control tokens, byte tokens, then ours), but the last one is the one before it again.
    const bytes = Array.from({ length: 256 }, (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    const { unk, bos, eos, imStart, imEnd } = SPM_CONTROL_TOKENS;
    const tokens = [unk, bos, eos, imStart, imEnd, ...bytes, ...pieces.slice(0, -1), pieces.at(-2)!];
    if (tokens.length !== nVocab) throw new Error("the duplicate-token vocabulary does not match the generated one");
    writer.setStringArray("tokenizer.ggml.tokens", tokens);
  }
  const small = (rowIndex: number, row: Float32Array): void => {
    for (let index = 0; index < row.length; index++) row[index] = ((index * 7919 + rowIndex * 104729) % 17) / 170 - 0.05;
  };
  const ones = (_row: number, row: Float32Array): void => void row.fill(1);
  const f32 = GgmlType.F32;
  writer
    .addTensor({ name: "token_embd.weight", shape: [EMBEDDING, nVocab], type: f32, data: small })
    .addTensor({ name: "blk.0.attn_norm.weight", shape: [EMBEDDING], type: f32, data: ones })
    .addTensor({ name: "blk.0.attn_q.weight", shape: [EMBEDDING, EMBEDDING], type: f32, data: small })
    .addTensor({ name: "blk.0.attn_k.weight", shape: [EMBEDDING, EMBEDDING], type: f32, data: small })
    .addTensor({ name: "blk.0.attn_v.weight", shape: [EMBEDDING, EMBEDDING], type: f32, data: small })
    .addTensor({ name: "blk.0.attn_output.weight", shape: [EMBEDDING, EMBEDDING], type: f32, data: small })
    .addTensor({ name: "blk.0.ffn_norm.weight", shape: [EMBEDDING], type: f32, data: ones })
    .addTensor({ name: "blk.0.ffn_gate.weight", shape: [EMBEDDING, FEED_FORWARD], type: f32, data: small })
    .addTensor({ name: "blk.0.ffn_up.weight", shape: [EMBEDDING, FEED_FORWARD], type: f32, data: small })
    .addTensor({ name: "blk.0.ffn_down.weight", shape: [FEED_FORWARD, EMBEDDING], type: f32, data: small })
    .addTensor({ name: "output_norm.weight", shape: [EMBEDDING], type: f32, data: ones })
    .addTensor({ name: "output.weight", shape: [EMBEDDING, nVocab], type: f32, data: small });
  await writer.writeToFile(filePath);
}
