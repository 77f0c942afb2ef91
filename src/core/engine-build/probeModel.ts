import { writeFile } from "node:fs/promises";

/**
 * A tiny llama model (one block, Q8_0 weights, about 1 MB) that the engine check runs a prompt
 * and a few decode steps through: loading a build proves little, as a native build can die of
 * SIGILL or SIGSEGV only in its first matrix multiplication (llama.cpp's AMX kernels do on
 * some Sapphire Rapids machines, ggml-org/llama.cpp#20824). Its weights are a fixed pattern:
 * the check wants the kernels to run, not sensible text.
 *
 * Hand-written rather than shared with the test suite's GGUF writer (test/fixtures/gguf): src
 * must not import tests, and this needs a sliver of it (GGUF v3: metadata, tensor infos,
 * 32-byte aligned data; F32 and Q8_0 tensors).
 */

const N_EMBD = 256;
const N_FF = 512;
const N_HEAD = 4;
const N_VOCAB = 4 + 256; // <unk>, <s>, </s>, "▁" (SentencePiece's space), then the 256 byte tokens
const ALIGNMENT = 32;
const GGUF_TYPE = { uint32: 4, int32: 5, float32: 6, string: 8, array: 9 } as const;
const GGML_TYPE = { f32: 0, q8_0: 8 } as const;
/** Q8_0: 32 weights per block, an fp16 scale then 32 int8. */
const Q8_0_BLOCK_BYTES = 2 + 32;
/** fp16 bits of 2^-7: with int8 weights up to ±63 the weights stay under 0.5. */
const Q8_0_SCALE_BITS = 0x2000;

/** The ids to feed the probe model: any id below this is a token of its vocabulary. */
export const PROBE_MODEL_VOCAB_SIZE = N_VOCAB;

class Bytes {
  private readonly chunks: Buffer[] = [];
  length = 0;
  push(buffer: Buffer): this {
    this.chunks.push(buffer);
    this.length += buffer.length;
    return this;
  }
  u32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    return this.push(buffer);
  }
  i32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeInt32LE(value);
    return this.push(buffer);
  }
  u64(value: number): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    return this.push(buffer);
  }
  f32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeFloatLE(value);
    return this.push(buffer);
  }
  str(text: string): this {
    const bytes = Buffer.from(text, "utf8");
    return this.u64(bytes.length).push(bytes);
  }
  pad(): this {
    const missing = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    return this.push(Buffer.alloc(missing));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

interface Tensor {
  name: string;
  /** GGUF order: the row length first. */
  shape: [number] | [number, number];
  type: "f32" | "q8_0";
}

function tensorData(tensor: Tensor, seed: number): Buffer {
  const [rowLength, rows = 1] = tensor.shape;
  if (tensor.type === "f32") {
    const buffer = Buffer.alloc(rowLength * rows * 4);
    for (let index = 0; index < rowLength * rows; index++) buffer.writeFloatLE(1, index * 4);
    return buffer;
  }
  const blocks = (rowLength / 32) * rows;
  const buffer = Buffer.alloc(blocks * Q8_0_BLOCK_BYTES);
  for (let block = 0; block < blocks; block++) {
    const offset = block * Q8_0_BLOCK_BYTES;
    buffer.writeUInt16LE(Q8_0_SCALE_BITS, offset);
    for (let index = 0; index < 32; index++) buffer.writeInt8((((block * 31 + index * 17 + seed) % 127) - 63) | 0, offset + 2 + index);
  }
  return buffer;
}

/** Writes the probe model to `filePath`. */
export async function writeProbeModel(filePath: string): Promise<void> {
  const tokens = ["<unk>", "<s>", "</s>", "\u2581", ...Array.from({ length: 256 }, (_, byte) => `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`)];
  const header = new Bytes();
  const metadata: Array<[string, (bytes: Bytes) => void]> = [
    ["general.architecture", (b) => b.u32(GGUF_TYPE.string).str("llama")],
    ["general.name", (b) => b.u32(GGUF_TYPE.string).str("marduk engine probe")],
    ["llama.context_length", (b) => b.u32(GGUF_TYPE.uint32).u32(512)],
    ["llama.embedding_length", (b) => b.u32(GGUF_TYPE.uint32).u32(N_EMBD)],
    ["llama.block_count", (b) => b.u32(GGUF_TYPE.uint32).u32(1)],
    ["llama.feed_forward_length", (b) => b.u32(GGUF_TYPE.uint32).u32(N_FF)],
    ["llama.attention.head_count", (b) => b.u32(GGUF_TYPE.uint32).u32(N_HEAD)],
    ["llama.attention.head_count_kv", (b) => b.u32(GGUF_TYPE.uint32).u32(N_HEAD)],
    ["llama.attention.layer_norm_rms_epsilon", (b) => b.u32(GGUF_TYPE.float32).f32(1e-5)],
    ["llama.rope.dimension_count", (b) => b.u32(GGUF_TYPE.uint32).u32(N_EMBD / N_HEAD)],
    ["tokenizer.ggml.model", (b) => b.u32(GGUF_TYPE.string).str("llama")],
    ["tokenizer.ggml.tokens", (b) => tokens.reduce((bytes, token) => bytes.str(token), b.u32(GGUF_TYPE.array).u32(GGUF_TYPE.string).u64(tokens.length))],
    ["tokenizer.ggml.scores", (b) => tokens.reduce((bytes) => bytes.f32(0), b.u32(GGUF_TYPE.array).u32(GGUF_TYPE.float32).u64(tokens.length))],
    // Token types: 1 normal, 2 unknown, 3 control, 6 byte.
    ["tokenizer.ggml.token_type", (b) => tokens.reduce((bytes, _token, id) => bytes.i32(id === 0 ? 2 : id < 3 ? 3 : id === 3 ? 1 : 6), b.u32(GGUF_TYPE.array).u32(GGUF_TYPE.int32).u64(tokens.length))],
    ["tokenizer.ggml.unknown_token_id", (b) => b.u32(GGUF_TYPE.uint32).u32(0)],
    ["tokenizer.ggml.bos_token_id", (b) => b.u32(GGUF_TYPE.uint32).u32(1)],
    ["tokenizer.ggml.eos_token_id", (b) => b.u32(GGUF_TYPE.uint32).u32(2)],
  ];
  const tensors: Tensor[] = [
    { name: "token_embd.weight", shape: [N_EMBD, N_VOCAB], type: "q8_0" },
    { name: "blk.0.attn_norm.weight", shape: [N_EMBD], type: "f32" },
    { name: "blk.0.attn_q.weight", shape: [N_EMBD, N_EMBD], type: "q8_0" },
    { name: "blk.0.attn_k.weight", shape: [N_EMBD, N_EMBD], type: "q8_0" },
    { name: "blk.0.attn_v.weight", shape: [N_EMBD, N_EMBD], type: "q8_0" },
    { name: "blk.0.attn_output.weight", shape: [N_EMBD, N_EMBD], type: "q8_0" },
    { name: "blk.0.ffn_norm.weight", shape: [N_EMBD], type: "f32" },
    { name: "blk.0.ffn_gate.weight", shape: [N_EMBD, N_FF], type: "q8_0" },
    { name: "blk.0.ffn_up.weight", shape: [N_EMBD, N_FF], type: "q8_0" },
    { name: "blk.0.ffn_down.weight", shape: [N_FF, N_EMBD], type: "q8_0" },
    { name: "output_norm.weight", shape: [N_EMBD], type: "f32" },
    { name: "output.weight", shape: [N_EMBD, N_VOCAB], type: "q8_0" },
  ];

  header.push(Buffer.from("GGUF", "ascii")).u32(3).u64(tensors.length).u64(metadata.length);
  for (const [key, write] of metadata) write(header.str(key));
  const data = new Bytes();
  tensors.forEach((tensor, index) => {
    header.str(tensor.name).u32(tensor.shape.length);
    for (const dimension of tensor.shape) header.u64(dimension);
    header.u32(GGML_TYPE[tensor.type]).u64(data.length);
    data.push(tensorData(tensor, index)).pad();
  });
  header.pad();
  await writeFile(filePath, Buffer.concat([header.concat(), data.concat()]));
}
