/**
 * Model files for library and residency tests, made from the generated fixture model:
 * a split copy (as llama.cpp's gguf-split writes it) and a LoRA adapter GGUF.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { GgmlType, GgufWriter, SPM_SPACE } from "../fixtures/gguf/index.js";

const GGUF_TYPE_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;

interface TensorRecord {
  name: Buffer;
  /** n_dims, dims and type, as stored. */
  shapeAndType: Buffer;
  offset: number;
}

/** Reads a GGUF v3 header: each key/value as raw bytes, the tensor infos, and where the data starts. */
function parseHeader(bytes: Buffer): { kvs: { key: string; raw: Buffer }[]; tensors: TensorRecord[]; dataStart: number; alignment: number } {
  let at = 0;
  const u32 = (): number => {
    const value = bytes.readUInt32LE(at);
    at += 4;
    return value;
  };
  const u64 = (): number => {
    const value = Number(bytes.readBigUInt64LE(at));
    at += 8;
    return value;
  };
  const skipString = (): void => {
    const length = u64();
    at += length;
  };
  const skipValue = (type: number): void => {
    if (type === GGUF_STRING) return skipString();
    if (type === GGUF_ARRAY) {
      const elementType = u32();
      const count = u64();
      for (let i = 0; i < count; i++) skipValue(elementType);
      return;
    }
    const size = GGUF_TYPE_SIZES[type];
    if (size === undefined) throw new Error(`unknown GGUF value type ${type}`);
    at += size;
  };

  if (u32() !== 0x46554747) throw new Error("not a GGUF file");
  if (u32() !== 3) throw new Error("only GGUF v3 is supported");
  const tensorCount = u64();
  const kvCount = u64();
  const kvs: { key: string; raw: Buffer }[] = [];
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const start = at;
    const keyLength = u64();
    const key = bytes.subarray(at, at + keyLength).toString("utf8");
    at += keyLength;
    const type = u32();
    if (key === "general.alignment") alignment = bytes.readUInt32LE(at);
    skipValue(type);
    kvs.push({ key, raw: bytes.subarray(start, at) });
  }
  const tensors: TensorRecord[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const nameStart = at;
    skipString();
    const name = bytes.subarray(nameStart, at);
    const shapeStart = at;
    const dims = u32();
    at += dims * 8 + 4;
    const shapeAndType = bytes.subarray(shapeStart, at);
    tensors.push({ name, shapeAndType, offset: u64() });
  }
  return { kvs, tensors, dataStart: Math.ceil(at / alignment) * alignment, alignment };
}

function kvBytes(key: string, type: number, value: Buffer): Buffer {
  const keyBytes = Buffer.from(key, "utf8");
  const header = Buffer.alloc(8 + keyBytes.length + 4);
  header.writeBigUInt64LE(BigInt(keyBytes.length), 0);
  keyBytes.copy(header, 8);
  header.writeUInt32LE(type, 8 + keyBytes.length);
  return Buffer.concat([header, value]);
}

const u16Value = (value: number): Buffer => {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value);
  return buffer;
};
const i32Value = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
};
const u64Value = (value: number): Buffer => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
};

/**
 * Splits a GGUF file into `parts` files `<base>-0000k-of-0000N.gguf` in `dir`, the way
 * llama.cpp's gguf-split does: the first part keeps every key/value, each part holds a share of
 * the tensors, and every part carries `split.no` / `split.count` (uint16) and
 * `split.tensors.count` (int32). llama.cpp loads such a model from its first part.
 * @returns the part paths, in order.
 */
export async function writeSplitModel(sourcePath: string, dir: string, base: string, parts: number): Promise<string[]> {
  const bytes = await readFile(sourcePath);
  const { kvs, tensors, dataStart, alignment } = parseHeader(bytes);
  if (parts < 2 || parts > tensors.length) throw new RangeError(`cannot split ${tensors.length} tensors into ${parts} parts`);
  const alignUp = (value: number): number => Math.ceil(value / alignment) * alignment;
  const alignmentKv = kvs.find((kv) => kv.key === "general.alignment");
  const perPart = Math.ceil(tensors.length / parts);
  const paths: string[] = [];
  for (let part = 0; part < parts; part++) {
    const share = tensors.slice(part * perPart, (part + 1) * perPart);
    const splitKvs = [
      kvBytes("split.no", 2, u16Value(part)),
      kvBytes("split.count", 2, u16Value(parts)),
      kvBytes("split.tensors.count", 5, i32Value(tensors.length)),
    ];
    const partKvs = part === 0 ? [...kvs.map((kv) => kv.raw), ...splitKvs] : [...(alignmentKv ? [alignmentKv.raw] : []), ...splitKvs];
    const infos: Buffer[] = [];
    const data: Buffer[] = [];
    let offset = 0;
    for (const tensor of share) {
      const index = tensors.indexOf(tensor);
      const end = index + 1 < tensors.length ? dataStart + tensors[index + 1]!.offset : bytes.length;
      const tensorData = bytes.subarray(dataStart + tensor.offset, end);
      offset = alignUp(offset);
      infos.push(tensor.name, tensor.shapeAndType, u64Value(offset));
      if (data.length > 0) data.push(Buffer.alloc(offset - data.reduce((sum, chunk) => sum + chunk.length, 0)));
      data.push(tensorData);
      offset += tensorData.length;
    }
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0x46554747, 0);
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(BigInt(share.length), 8);
    header.writeBigUInt64LE(BigInt(partKvs.length), 16);
    const head = Buffer.concat([header, ...partKvs, ...infos]);
    const file = path.join(dir, `${base}-${String(part + 1).padStart(5, "0")}-of-${String(parts).padStart(5, "0")}.gguf`);
    await writeFile(file, Buffer.concat([head, Buffer.alloc(alignUp(head.length) - head.length), ...data]));
    paths.push(file);
  }
  return paths;
}

/** The logit a {@link writeFixtureLora} adapter adds to its token (the fixture's chain logit is 20). */
export const LORA_BOOST = 40;

/**
 * Writes a LoRA adapter GGUF for the fixture model (rank 1, on `output.weight`) that adds
 * {@link LORA_BOOST} to the logit of the word piece `▁<word>` whatever the input: with it,
 * greedy decoding repeats that word instead of the fixture sentence.
 */
export async function writeFixtureLora(fixturePath: string, filePath: string, word = "dog"): Promise<void> {
  const info = await readGgufFileInfo(fixturePath, { logWarnings: false });
  const llama = info.metadata.llama as { embedding_length?: number } | undefined;
  const tokens = info.metadata.tokenizer?.ggml?.tokens as readonly string[] | undefined;
  const nEmbd = llama?.embedding_length;
  if (!nEmbd || !tokens) throw new Error("the fixture model has no embedding length or vocabulary");
  const target = tokens.indexOf(`${SPM_SPACE}${word}`);
  if (target < 0) throw new Error(`the fixture vocabulary has no piece for '${word}'`);
  // The final norm makes the hidden state e_t * sqrt(n_embd), so A = 1/sqrt(n_embd) gives A.x = 1.
  const a = new Float32Array(nEmbd).fill(1 / Math.sqrt(nEmbd));
  const b = new Float32Array(tokens.length);
  b[target] = LORA_BOOST;
  await new GgufWriter()
    .setString("general.architecture", "llama")
    .setString("general.type", "adapter")
    .setString("general.name", `Marduk fixture LoRA (${word})`)
    .setString("adapter.type", "lora")
    .setFloat32("adapter.lora.alpha", 1)
    .addTensor({ name: "output.weight.lora_a", shape: [nEmbd, 1], type: GgmlType.F32, data: a })
    .addTensor({ name: "output.weight.lora_b", shape: [1, tokens.length], type: GgmlType.F32, data: b })
    .writeToFile(filePath);
}
