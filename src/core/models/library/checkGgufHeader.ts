import { open, type FileHandle } from "node:fs/promises";

/**
 * Hard bounds on a GGUF header, checked before any parser allocates anything for it.
 *
 * Hand-written on purpose: node-llama-cpp's reader (used for everything else) trusts the
 * counts it reads, and reads past the end of a file as zeros, so a tensor claiming
 * `n_dims = 2^31` or an array claiming 2^60 entries makes it loop for minutes and allocate
 * gigabytes. This scan only walks the header, skips over values without reading them, and
 * checks every count and length against the bytes the file really has.
 *
 * It also scans a file that holds only the first bytes of a larger one (a remote file's header,
 * fetched with Range requests): counts are then checked against the whole file's size, and a
 * header that goes on past the bytes at hand reports how many are needed ({@link scanGgufHeader}).
 */

/** ggml's GGML_MAX_DIMS. */
export const MAX_TENSOR_DIMS = 4;
/** Far above any real model (the largest have a few tens of thousands of tensors). */
export const MAX_TENSOR_COUNT = 1_000_000;
export const MAX_METADATA_ENTRIES = 100_000;
/** ggml's GGML_MAX_NAME (64) with room to spare. */
export const MAX_TENSOR_NAME_BYTES = 1024;
export const MAX_KEY_BYTES = 65_536;
/** Nested arrays deeper than this do not occur in real files. */
const MAX_ARRAY_DEPTH = 4;
const MAX_TENSOR_ELEMENTS = 2n ** 48n;
/** ggml type ids are small (GGML_TYPE_COUNT is under 64). */
const MAX_GGML_TYPE = 1024;

/** Byte sizes of GGUF's scalar value types, by type id; strings (8) and arrays (9) are read. */
const SCALAR_SIZES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING_TYPE = 8;
const ARRAY_TYPE = 9;

const TYPE_NAMES: Record<number, string> = { 0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool", 8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64" };

/**
 * Keys that llama.cpp (and node-llama-cpp's native metadata reader) read with a typed getter
 * that aborts the whole process on another type (GGML_ASSERT in gguf.cpp), by the type they must
 * have: `gguf_init` reads the alignment as u32, the split reader `split.no`/`split.count` as u16.
 */
const REQUIRED_KEY_TYPES: Record<string, number> = { "general.alignment": 4, "split.no": 2, "split.count": 2, "split.tensors.count": 5 };

class HeaderError extends Error {}

/** The header claims more bytes than the file has: most often a download or copy cut short. */
class TruncatedError extends Error {}

/** The header goes on past the prefix at hand (but not past the whole file): read more of it. */
class NeedMoreError extends Error {
  constructor(readonly minBytes: number) {
    super(`the header needs at least ${minBytes} bytes`);
  }
}

/**
 * Reads a file's header on demand, in chunks, never more than asked for. `size` is the whole
 * file's size (what counts are checked against); `available` the bytes the file at hand has
 * (fewer than `size` for a prefix).
 */
class BoundedReader {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
    private readonly available: number,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  private async ensure(bytes: number): Promise<void> {
    if (bytes > this.remaining) throw new TruncatedError(`its header needs more than the ${this.size} bytes the file has`);
    if (this.position + bytes > this.available) throw new NeedMoreError(this.position + bytes);
    const offset = this.position - this.bufferStart;
    if (offset >= 0 && offset + bytes <= this.buffer.length) return;
    const length = Math.min(Math.max(bytes, 64 * 1024), this.available - this.position);
    const chunk = Buffer.alloc(length);
    const { bytesRead } = await this.file.read(chunk, 0, length, this.position);
    if (bytesRead < bytes) throw new HeaderError("the file could not be read to the end of its header");
    this.buffer = chunk.subarray(0, bytesRead);
    this.bufferStart = this.position;
  }

  async u32(): Promise<number> {
    await this.ensure(4);
    const value = this.buffer.readUInt32LE(this.position - this.bufferStart);
    this.position += 4;
    return value;
  }

  async u64(): Promise<bigint> {
    await this.ensure(8);
    const value = this.buffer.readBigUInt64LE(this.position - this.bufferStart);
    this.position += 8;
    return value;
  }

  async bytes(count: number): Promise<Buffer> {
    await this.ensure(count);
    const value = Buffer.from(this.buffer.subarray(this.position - this.bufferStart, this.position - this.bufferStart + count));
    this.position += count;
    return value;
  }

  skip(count: bigint | number, what: string): void {
    if (BigInt(count) > BigInt(this.remaining)) throw new TruncatedError(`its header needs more than the ${this.size} bytes the file has (${what} claims ${count} bytes)`);
    this.position += Number(count);
  }
}

/** A count read from the file, checked against a limit and against the bytes that are left. */
function boundedCount(value: bigint, limit: number, minBytesEach: number, reader: BoundedReader, what: string): number {
  if (value > BigInt(limit)) throw new HeaderError(`${what} is ${value}, more than ${limit}`);
  const count = Number(value);
  if (count * minBytesEach > reader.remaining) throw new TruncatedError(`its header needs more than the ${reader.size} bytes the file has (${what} is ${count})`);
  return count;
}

async function skipString(reader: BoundedReader, what: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<void> {
  const length = await reader.u64();
  if (length > BigInt(maxBytes)) throw new HeaderError(`${what} is ${length} bytes long, more than ${maxBytes}`);
  reader.skip(length, what);
}

async function skipValue(reader: BoundedReader, type: number, what: string, depth: number): Promise<void> {
  const scalar = SCALAR_SIZES[type];
  if (scalar !== undefined) return reader.skip(scalar, what);
  if (type === STRING_TYPE) return skipString(reader, what);
  if (type !== ARRAY_TYPE) throw new HeaderError(`${what} has an unknown value type ${type}`);
  if (depth >= MAX_ARRAY_DEPTH) throw new HeaderError(`${what} nests arrays deeper than ${MAX_ARRAY_DEPTH}`);
  const elementType = await reader.u32();
  const elementSize = SCALAR_SIZES[elementType];
  // Every element takes at least its scalar size (or a string's or array's 8-byte length).
  const count = boundedCount(await reader.u64(), Number.MAX_SAFE_INTEGER, elementSize ?? 8, reader, `${what}'s length`);
  if (elementSize !== undefined) return reader.skip(count * elementSize, what);
  for (let index = 0; index < count; index++) await skipValue(reader, elementType, what, depth + 1);
}

/** What {@link scanGgufHeader} found. */
export type GgufHeaderScan =
  /** Every count, length and dimension is within bounds; the header (without the padding before the tensor data) ends at `headerBytes`. */
  | { kind: "complete"; headerBytes: number }
  /** The header goes on past the bytes the file at hand has: the first `minBytes` bytes of the whole file are needed at least. */
  | { kind: "needMore"; minBytes: number }
  /** The header cannot be trusted (crafted, corrupt, or longer than the whole file), or the file could not be read. */
  | { kind: "invalid"; reason: string };

/** Options of {@link scanGgufHeader}. */
export interface ScanGgufHeaderOptions {
  /**
   * The size of the whole file when `filePath` holds only its first bytes (a remote file's
   * prefix): counts and lengths are checked against it, and a header that goes on past the
   * prefix gives "needMore" instead of "truncated". Default: the size of the file at `filePath`.
   */
  declaredSize?: number;
}

/**
 * Walks a GGUF header within hard bounds (see the top of this file), reading only the header.
 * Never throws: a file that cannot be read is "invalid" with the reason.
 */
export async function scanGgufHeader(filePath: string, options: ScanGgufHeaderOptions = {}): Promise<GgufHeaderScan> {
  let file: FileHandle | undefined;
  try {
    file = await open(filePath, "r");
    const fileSize = (await file.stat()).size;
    const size = options.declaredSize ?? fileSize;
    const reader = new BoundedReader(file, size, Math.min(fileSize, size));
    const reason = await walkHeader(reader);
    if (reason !== undefined) return { kind: "invalid", reason };
    // The last tensor offset is skipped, not read: it too must be at hand.
    if (reader.position > Math.min(fileSize, size)) return { kind: "needMore", minBytes: reader.position };
    return { kind: "complete", headerBytes: reader.position };
  } catch (error) {
    if (error instanceof NeedMoreError) return { kind: "needMore", minBytes: error.minBytes };
    if (error instanceof HeaderError) return { kind: "invalid", reason: `the GGUF header is invalid: ${error.message}` };
    if (error instanceof TruncatedError) return { kind: "invalid", reason: `the file is truncated: ${error.message}` };
    return { kind: "invalid", reason: `the file could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  } finally {
    await file?.close();
  }
}

/**
 * Why a GGUF file's header cannot be trusted, or undefined when its counts, lengths and
 * dimensions are within bounds and fit the file. Reads only the header.
 */
export async function checkGgufHeader(filePath: string): Promise<string | undefined> {
  const scan = await scanGgufHeader(filePath);
  // Without a declared size the whole file is at hand, so "needMore" cannot happen.
  return scan.kind === "invalid" ? scan.reason : undefined;
}

/** The header's problem, or undefined when it is within bounds; throws the reader's errors. */
async function walkHeader(reader: BoundedReader): Promise<string | undefined> {
  const magic = await reader.bytes(4);
  if (magic.toString("latin1") !== "GGUF") return "not a valid GGUF file (it does not start with the GGUF magic bytes)";
  const version = await reader.u32();
  if (version < 2 || version > 3) return `unsupported GGUF version ${version}`;
  // A tensor info is at least 8 (name length) + 4 (n_dims) + 8 (a dim) + 4 (type) + 8 (offset) bytes.
  const tensorCount = boundedCount(await reader.u64(), MAX_TENSOR_COUNT, 32, reader, "the tensor count");
  const entryCount = boundedCount(await reader.u64(), MAX_METADATA_ENTRIES, 13, reader, "the metadata entry count");
  for (let index = 0; index < entryCount; index++) {
    const keyLength = await reader.u64();
    if (keyLength > BigInt(MAX_KEY_BYTES)) throw new HeaderError(`metadata key ${index} is ${keyLength} bytes long`);
    const key = (await reader.bytes(Number(keyLength))).toString("utf8");
    const type = await reader.u32();
    const required = REQUIRED_KEY_TYPES[key];
    if (required !== undefined && type !== required) {
      return `metadata '${key}' is of type ${TYPE_NAMES[type] ?? type}, where llama.cpp requires ${TYPE_NAMES[required]}`;
    }
    await skipValue(reader, type, `metadata '${key.slice(0, 100)}'`, 0);
  }
  for (let index = 0; index < tensorCount; index++) {
    await skipString(reader, `the name of tensor ${index}`, MAX_TENSOR_NAME_BYTES);
    const dims = await reader.u32();
    if (dims < 1 || dims > MAX_TENSOR_DIMS) return `tensor ${index} has ${dims} dimensions (at most ${MAX_TENSOR_DIMS})`;
    let elements = 1n;
    for (let dim = 0; dim < dims; dim++) {
      const size = await reader.u64();
      if (size < 1n) return `tensor ${index} has a dimension of size 0`;
      elements *= size;
    }
    // No real tensor comes near 2^48 elements; whether the data fits the file is checked apart (truncation).
    if (elements > MAX_TENSOR_ELEMENTS) return `tensor ${index} claims ${elements} elements`;
    const type = await reader.u32();
    if (type >= MAX_GGML_TYPE) return `tensor ${index} has an unknown type ${type}`;
    reader.skip(8, `the offset of tensor ${index}`);
  }
  return undefined;
}
