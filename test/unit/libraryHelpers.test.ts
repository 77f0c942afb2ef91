/** The library's pure helpers: grouping split files, reading GGUF summaries, sidecars, sizes. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { GgufFileInfo, GgufTensorInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findMissingTensorData } from "../../src/core/models/library/checkTensorData.js";
import { formatBytes } from "../../src/core/models/library/formatBytes.js";
import { groupModelFiles } from "../../src/core/models/library/groupModelFiles.js";
import { originSidecarPath, readOriginSidecar } from "../../src/core/models/library/originSidecar.js";
import { parseQuantization } from "../../src/core/models/hub/quantization.js";
import { summarizeGguf } from "../../src/core/models/library/summarizeGguf.js";
import type { ModelFile } from "../../src/core/models/modelPaths.js";

describe("grouping files into models", () => {
  const file = (id: string): ModelFile => ({ id, path: `/m/${id}.gguf`, sizeBytes: 1, modifiedAt: 1 });

  it("groups split parts, reports missing ones, and keeps colliding names apart", () => {
    const groups = groupModelFiles([
      file("a/x-00001-of-00002"),
      file("a/x-00002-of-00002"),
      file("y-00002-of-00003"),
      file("z"),
      file("z-00001-of-00002"),
      file("z-00002-of-00002"),
      file("w-00001-of-00001"),
    ]);
    expect(groups.map((group) => [group.id, group.files.length, group.partCount, group.missingParts])).toEqual([
      ["a/x", 2, 2, []],
      ["w-00001-of-00001", 1, undefined, []],
      ["y", 1, 3, [1, 3]],
      ["z", 1, undefined, []],
      ["z-00001-of-00002", 1, undefined, []],
      ["z-00002-of-00002", 1, undefined, []],
    ]);
  });
});

describe("GGUF summaries", () => {
  const tensor = (dimensions: number[], filePart = 1, fileOffset = 0, ggmlType = 0): GgufTensorInfo =>
    ({ name: "t", dimensions, ggmlType, offset: fileOffset, fileOffset, filePart }) as GgufTensorInfo;
  const info = (metadata: Record<string, unknown>, architectureMetadata: Record<string, unknown> = {}, tensors: GgufTensorInfo[] = []): GgufFileInfo =>
    ({ metadata, architectureMetadata, tensorInfo: tensors, fullTensorInfo: tensors }) as unknown as GgufFileInfo;
  const names = (type: number): string | undefined => ({ 0: "ALL_F32", 15: "MOSTLY_Q4_K_M", 32: "MOSTLY_BF16" })[type];

  it("reads architecture, parameters, quantization, context and the chat template", () => {
    const summary = summarizeGguf(
      info({ general: { architecture: "qwen2", name: "Qwen2.5 0.5B", file_type: 15 }, tokenizer: { chat_template: "{{x}}" } }, { context_length: 32768 }, [
        tensor([896, 151936]),
        tensor([896]),
      ]),
      "qwen2.5-0.5b-q8_0.gguf",
      names,
    );
    expect(summary).toEqual({
      kind: "model",
      name: "Qwen2.5 0.5B",
      architecture: "qwen2",
      parameterCount: 896 * 151936 + 896,
      quantization: "Q4_K_M",
      contextLength: 32768,
      hasChatTemplate: true,
      capabilities: ["chat", "completion"],
    });
  });

  it("falls back to the file name for the quantization", () => {
    expect(summarizeGguf(info({ general: { architecture: "llama" } }), "m-Q5_K_S.gguf", names).quantization).toBe("Q5_K_S");
  });

  it.each([
    ["a base model", { general: { architecture: "llama", name: "Base" } }, {}, "base.gguf", ["completion"]],
    ["an instruct model without a template", { general: { architecture: "llama", name: "Llama 3.2 1B Instruct" } }, {}, "x.gguf", ["chat", "completion"]],
    ["a '-it' file name", { general: { architecture: "gemma3" } }, {}, "gemma-3-1b-it-Q4_0.gguf", ["chat", "completion"]],
    ["a BERT embedding model", { general: { architecture: "nomic-bert" } }, { pooling_type: 1 }, "nomic.gguf", ["embedding"]],
    ["a decoder with embedding pooling", { general: { architecture: "qwen3" }, tokenizer: { chat_template: "t" } }, { pooling_type: 3 }, "e.gguf", ["completion", "embedding"]],
    ["a LoRA adapter", { general: { architecture: "llama", type: "adapter" } }, {}, "lora.gguf", []],
  ])("capabilities of %s", (_label, metadata, architectureMetadata, fileName, capabilities) => {
    expect(summarizeGguf(info(metadata, architectureMetadata), fileName, names).capabilities).toEqual(capabilities);
  });

  it.each([
    ["qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"],
    ["Llama-3.2-1B-Instruct-Q8_0.gguf", "Q8_0"],
    ["model-IQ3_XS-00001-of-00002.gguf", "IQ3_XS"],
    ["nomic-embed-text-v1.5.f16.gguf", "F16"],
    ["stories260K.gguf", undefined],
  ])("reads the quantization in the file name %s", (name, expected) => {
    expect(parseQuantization(name)).toBe(expected);
  });

  it("finds tensor data past the end of a file", () => {
    const tensors = [tensor([8], 1, 64), tensor([8], 2, 32)];
    expect(findMissingTensorData(tensors, [96, 64])).toBeUndefined();
    expect(findMissingTensorData(tensors, [95, 64])).toBe("part 1 is truncated: the tensor data needs 96 bytes but the file has 95");
    expect(findMissingTensorData([tensor([8], 1, 64)], [80])).toBe("the file is truncated: the tensor data needs 96 bytes but the file has 80");
  });
});

describe("origin sidecars", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "marduk-sidecar-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("live beside the model as a hidden file", () => {
    expect(originSidecarPath("/m/owner/x.gguf")).toBe(path.join("/m/owner", ".x.gguf.origin.json"));
  });

  it("are read when valid, keeping only known string fields", async () => {
    const model = path.join(dir, "a.gguf");
    await writeFile(originSidecarPath(model), JSON.stringify({ source: "huggingface", repo: "o/r", size: 5, extra: "x" }));
    expect(await readOriginSidecar(model)).toEqual({ source: "huggingface", repo: "o/r" });
  });

  it("are ignored when missing, unparsable or without a source", async () => {
    expect(await readOriginSidecar(path.join(dir, "none.gguf"))).toBeUndefined();
    await writeFile(originSidecarPath(path.join(dir, "b.gguf")), "{not json");
    expect(await readOriginSidecar(path.join(dir, "b.gguf"))).toBeUndefined();
    await writeFile(originSidecarPath(path.join(dir, "c.gguf")), JSON.stringify({ repo: "o/r" }));
    expect(await readOriginSidecar(path.join(dir, "c.gguf"))).toBeUndefined();
  });
});

describe("byte sizes", () => {
  it.each([
    [0, "0 B"],
    [999, "999 B"],
    [1000, "1.00 kB"],
    [3_431_164, "3.43 MB"],
    [12_500_000_000, "12.5 GB"],
  ])("%d is %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
