/**
 * The pieces of bounded remote header reads that need no server: the bounds scan of a header
 * prefix (which tells "read more" from "broken"), and the visible local names of hub files.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRepoFileSegments } from "../../src/core/models/downloads/downloadFileName.js";
import { checkGgufHeader, scanGgufHeader } from "../../src/core/models/library/checkGgufHeader.js";
import { GgmlType, GgufWriter } from "../fixtures/gguf/index.js";
import { listGgufFields } from "../fixtures/gguf/ggufMutator.js";

let dir: string;
let whole: Buffer;
let headerEnd: number;

/** Writes `bytes` to a file in the test folder and returns its path. */
async function file(name: string, bytes: Buffer): Promise<string> {
  const filePath = path.join(dir, name);
  await writeFile(filePath, bytes);
  return filePath;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "marduk-header-bounds-"));
  // A small model-like file: a vocabulary array of strings, then two tensors with data.
  const writer = new GgufWriter()
    .setString("general.architecture", "llama")
    .setStringArray("tokenizer.ggml.tokens", Array.from({ length: 2000 }, (_, index) => `token-${index}`))
    .addTensor({ name: "a.weight", shape: [64, 32], type: GgmlType.F32, data: new Float32Array(64 * 32) })
    .addTensor({ name: "b.weight", shape: [64], type: GgmlType.F32, data: new Float32Array(64) });
  const wholePath = path.join(dir, "whole.gguf");
  await writer.writeToFile(wholePath);
  whole = await readFile(wholePath);
  headerEnd = listGgufFields(whole).headerEnd;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("scanGgufHeader", () => {
  it("finds where a whole file's header ends", async () => {
    expect(await scanGgufHeader(path.join(dir, "whole.gguf"))).toEqual({ kind: "complete", headerBytes: headerEnd });
    expect(await checkGgufHeader(path.join(dir, "whole.gguf"))).toBeUndefined();
  });

  it("asks for more bytes when a prefix of a larger file ends inside the header", async () => {
    for (const length of [3, 30, 1000, headerEnd - 1]) {
      const prefix = await file(`prefix-${length}.gguf`, whole.subarray(0, length));
      const scan = await scanGgufHeader(prefix, { declaredSize: whole.length });
      expect(scan.kind, `${length}`).toBe("needMore");
      const minBytes = (scan as { minBytes: number }).minBytes;
      expect(minBytes, `${length}`).toBeGreaterThan(length);
      expect(minBytes, `${length}`).toBeLessThanOrEqual(headerEnd);
      // The same prefix, taken as the whole file, is a truncated file (as before).
      expect(await checkGgufHeader(prefix), `${length}`).toMatch(/^the file is truncated/);
    }
    const exact = await file("prefix-exact.gguf", whole.subarray(0, headerEnd));
    expect(await scanGgufHeader(exact, { declaredSize: whole.length })).toEqual({ kind: "complete", headerBytes: headerEnd });
  });

  it("checks counts against the declared size, not the prefix's", async () => {
    const prefix = await file("short-declared.gguf", whole.subarray(0, 200));
    // 2000 tokens of 8 bytes or more cannot fit a whole file of 300 bytes: broken, not "read more".
    expect(await scanGgufHeader(prefix, { declaredSize: 300 })).toMatchObject({
      kind: "invalid",
      reason: expect.stringMatching(/^the file is truncated: its header needs more than the 300 bytes the file has/) as unknown,
    });
    expect(await scanGgufHeader(prefix, { declaredSize: whole.length })).toMatchObject({ kind: "needMore" });
  });

  it("refuses a crafted count at once, whatever the declared size", async () => {
    const { fields } = listGgufFields(whole);
    const arrayLength = fields.find((field) => field.kind === "arrayLength")!;
    const crafted = Buffer.from(whole.subarray(0, 4096));
    crafted.writeBigUInt64LE(2n ** 60n, arrayLength.offset);
    const craftedPath = await file("crafted-array.gguf", crafted);
    expect(await scanGgufHeader(craftedPath, { declaredSize: Number.MAX_SAFE_INTEGER })).toMatchObject({
      kind: "invalid",
      reason: expect.stringMatching(/^the GGUF header is invalid: .*length is 1152921504606846976, more than/) as unknown,
    });
    // 2^40 strings of 8 bytes or more cannot fit a file of a few kilobytes.
    crafted.writeBigUInt64LE(2n ** 40n, arrayLength.offset);
    const tooMany = await file("crafted-array-2.gguf", crafted);
    expect(await scanGgufHeader(tooMany, { declaredSize: whole.length })).toMatchObject({ kind: "invalid", reason: expect.stringMatching(/^the file is truncated/) as unknown });

    const dims = fields.find((field) => field.kind === "dimCount")!;
    const hugeDims = Buffer.from(whole);
    hugeDims.writeUInt32LE(2 ** 31, dims.offset);
    const hugeDimsPath = await file("crafted-dims.gguf", hugeDims.subarray(0, headerEnd));
    expect(await scanGgufHeader(hugeDimsPath, { declaredSize: whole.length })).toEqual({ kind: "invalid", reason: "tensor 0 has 2147483648 dimensions (at most 4)" });
  });

  it("refuses keys llama.cpp reads with a typed getter when they have another type (it would abort the process)", async () => {
    // A split model written with u32 split keys: node-llama-cpp's native reader asserts on them.
    const writeWith = async (name: string, configure: (writer: GgufWriter) => GgufWriter): Promise<string> => {
      const filePath = path.join(dir, name);
      await configure(new GgufWriter().setString("general.architecture", "llama"))
        .addTensor({ name: "a.weight", shape: [8], type: GgmlType.F32, data: new Float32Array(8) })
        .writeToFile(filePath);
      return filePath;
    };
    expect(await checkGgufHeader(await writeWith("split-u32.gguf", (writer) => writer.setUint32("split.count", 3)))).toBe(
      "metadata 'split.count' is of type u32, where llama.cpp requires u16",
    );
    expect(await checkGgufHeader(await writeWith("tensors-u32.gguf", (writer) => writer.setUint32("split.tensors.count", 3)))).toMatch(/split.tensors.count' is of type u32, where llama.cpp requires i32/);
    expect(await checkGgufHeader(await writeWith("alignment-string.gguf", (writer) => writer.setString("general.alignment", "32")))).toMatch(/general.alignment' is of type string, where llama.cpp requires u32/);
    // The right types pass.
    expect(await checkGgufHeader(await writeWith("alignment-u32.gguf", (writer) => writer.setUint32("general.alignment", 32).setInt32("split.tensors.count", 1)))).toBeUndefined();
  });
});

describe("localRepoFileSegments", () => {
  it("keeps ordinary repository paths as they are", () => {
    expect(localRepoFileSegments("model-Q4_K_M.gguf")).toEqual(["model-Q4_K_M.gguf"]);
    expect(localRepoFileSegments("Q8_0/split-Q8_0-00001-of-00003.gguf")).toEqual(["Q8_0", "split-Q8_0-00001-of-00003.gguf"]);
    expect(localRepoFileSegments("a..b/c.d.GGUF")).toEqual(["a..b", "c.d.GGUF"]);
  });

  it("never gives a dot-led (hidden) file or folder", () => {
    expect(localRepoFileSegments("sub/.hidden.gguf")).toEqual(["sub", "hidden.gguf"]);
    expect(localRepoFileSegments(".cache/x.gguf")).toEqual(["cache", "x.gguf"]);
    // `%2e%2e.gguf` in a hub URL decodes to `...gguf`.
    expect(localRepoFileSegments("...gguf")).toEqual(["model.gguf"]);
    expect(localRepoFileSegments(".gguf")).toEqual(["model.gguf"]);
    expect(localRepoFileSegments("... /x.gguf")).toEqual(["unnamed", "x.gguf"]);
    expect(localRepoFileSegments(" .odd. /tab\tname .gguf")).toEqual(["odd", "tab_name.gguf"]);
    // Split parts keep their suffix, so they still name one model.
    expect(localRepoFileSegments(".x-00002-of-00003.gguf")).toEqual(["x-00002-of-00003.gguf"]);
    for (const segment of [...localRepoFileSegments(".a/.b/..c.gguf")]) expect(segment.startsWith(".")).toBe(false);
  });
});
