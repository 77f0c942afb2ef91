import { describe, expect, it } from "vitest";
import type { HubFile } from "../../src/shared/api/hub.js";
import {
  groupByQuantization,
  groupGgufModels,
  isProjectorFile,
  parseQuantization,
  parseSplitPart,
  quantRank,
} from "../../src/core/models/hub/quantization.js";

describe("parseQuantization", () => {
  it.each([
    ["Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"],
    ["qwen2.5-0.5b-instruct-q8_0.gguf", "Q8_0"],
    ["qwen2.5-0.5b-instruct-fp16.gguf", "F16"],
    ["nomic-embed-text-v1.5.Q8_0.gguf", "Q8_0"],
    ["nomic-embed-text-v1.5.f16.gguf", "F16"],
    ["google_gemma-3-1b-it-IQ2_XS.gguf", "IQ2_XS"],
    ["model-BF16.gguf", "BF16"],
    ["Qwen3-8B-UD-Q4_K_XL.gguf", "Q4_K_XL"],
    ["tinyllama-1.1b-chat-v1.0.Q5_K_S.gguf", "Q5_K_S"],
    ["phi-3-IQ4_NL.gguf", "IQ4_NL"],
    ["Meta-Llama-3.1-8B-Instruct-Q4_0_4_4.gguf", "Q4_0_4_4"],
    ["gpt-oss-20b-MXFP4.gguf", "MXFP4"],
    ["big-Q6_K-00001-of-00002.gguf", "Q6_K"],
    ["Q3_K_M/big-model-00002-of-00004.gguf", "Q3_K_M"],
    ["model-IQ3_XXS.gguf", "IQ3_XXS"],
    ["ggml-model-f32.gguf", "F32"],
  ])("%s -> %s", (name, quant) => {
    expect(parseQuantization(name)).toBe(quant);
  });

  it("returns undefined when the name does not say", () => {
    expect(parseQuantization("model.gguf")).toBeUndefined();
    expect(parseQuantization("Q4-model.gguf")).toBeUndefined();
    expect(parseQuantization("bq4_k_m.gguf")).toBeUndefined();
  });

  it("ranks quantizations by quality, unknown last", () => {
    expect(quantRank("F16")).toBeLessThan(quantRank("Q8_0"));
    expect(quantRank("Q8_0")).toBeLessThan(quantRank("Q4_K_M"));
    expect(quantRank("Q4_K_M")).toBeLessThan(quantRank("IQ2_XS"));
    expect(quantRank("q4_k_m")).toBe(quantRank("Q4_K_M"));
    expect(quantRank("WEIRD")).toBe(quantRank(undefined));
  });
});

describe("split files", () => {
  it("parses part numbers", () => {
    expect(parseSplitPart("dir/model-Q4_K_M-00002-of-00003.gguf")).toEqual({ part: 2, parts: 3, basePath: "dir/model-Q4_K_M.gguf" });
    expect(parseSplitPart("model-Q4_K_M.gguf")).toBeUndefined();
    expect(parseSplitPart("model-00004-of-00003.gguf")).toBeUndefined();
  });

  it("recognises projector files", () => {
    expect(isProjectorFile("mmproj-model-f16.gguf")).toBe(true);
    expect(isProjectorFile("gemma-3-4b-it-mmproj-F16.gguf")).toBe(true);
    expect(isProjectorFile("mmprojection.gguf")).toBe(false);
  });
});

function file(filePath: string, sizeBytes: number): HubFile {
  return { path: filePath, sizeBytes, sha256: "0".repeat(64) };
}

describe("groupGgufModels and groupByQuantization", () => {
  const files = [
    file("README.md", 10),
    file("model-Q4_K_M.gguf", 400),
    file("model-Q8_0.gguf", 800),
    file("model-F16.gguf", 1600),
    file("Q2_K/model-Q2_K-00001-of-00002.gguf", 100),
    file("Q2_K/model-Q2_K-00002-of-00002.gguf", 120),
    file("big-Q6_K-00001-of-00003.gguf", 300),
    file("big-Q6_K-00003-of-00003.gguf", 300),
    file("mmproj-model-f16.gguf", 50),
    file("notes.gguf", 5),
  ];

  it("joins split parts with the summed size and flags incomplete ones", () => {
    const models = groupGgufModels(files);
    expect(models).toHaveLength(7);
    const split = models.find((model) => model.name === "model-Q2_K.gguf")!;
    expect(split).toMatchObject({ path: "Q2_K/model-Q2_K-00001-of-00002.gguf", quant: "Q2_K", sizeBytes: 220, complete: true });
    expect(split.parts.map((part) => part.path)).toEqual(["Q2_K/model-Q2_K-00001-of-00002.gguf", "Q2_K/model-Q2_K-00002-of-00002.gguf"]);
    expect(models.find((model) => model.name === "big-Q6_K.gguf")).toMatchObject({ complete: false, sizeBytes: 600 });
    expect(models.find((model) => model.name === "mmproj-model-f16.gguf")).toMatchObject({ projector: true, quant: "F16" });
  });

  it("orders quantization groups best first and leaves projectors out", () => {
    const groups = groupByQuantization(groupGgufModels(files));
    expect(groups.map((group) => group.quant)).toEqual(["F16", "Q8_0", "Q6_K", "Q4_K_M", "Q2_K", "unknown"]);
    expect(groups[0]!.files.map((model) => model.path)).toEqual(["model-F16.gguf"]);
    expect(groups.find((group) => group.quant === "Q2_K")!.sizeBytes).toBe(220);
  });

  it("keeps a single file apart from split parts of the same base name", () => {
    const models = groupGgufModels([file("m-Q4_0.gguf", 5), file("m-Q4_0-00001-of-00001.gguf", 6)]);
    expect(models.map((model) => [model.path, model.sizeBytes])).toEqual([
      ["m-Q4_0-00001-of-00001.gguf", 6],
      ["m-Q4_0.gguf", 5],
    ]);
  });
});
