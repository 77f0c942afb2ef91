/**
 * Runtime load options without a model: the shared rules, their node-llama-cpp mapping, and
 * each edge that checks them (CLI flags, the contract's schema, Ollama's options; the load
 * dialog's are in rendererLoadDialog.test.ts).
 */
import { describe, expect, it } from "vitest";
import { CliUsageError } from "../../src/cli/cliError.js";
import { parseServeOptions } from "../../src/cli/commands/serveOptions.js";
import { ollamaOptionsSchema } from "../../src/core/api/ollama/ollamaSchemas.js";
import { loadModelRequest, parseRequest } from "../../src/core/contract/requestSchemas.js";
import { toLlamaLoadOptions } from "../../src/core/engine/llamaLoadOptions.js";
import { mergeLoadOptions } from "../../src/core/engine/Engine.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { effectiveSpeculativeMode, findLoadOptionsProblem, MAX_BATCH_SIZE } from "../../src/shared/api/loadOptions.js";
import { findDraftVocabularyMismatch } from "../../src/core/engine/draftVocabulary.js";

describe("findLoadOptionsProblem", () => {
  it("accepts every valid option and none at all", () => {
    expect(findLoadOptionsProblem({})).toBeUndefined();
    expect(findLoadOptionsProblem({ flashAttention: "on", kvCacheKeyType: "q4_0", kvCacheValueType: "q8_0", batchSize: MAX_BATCH_SIZE, useMmap: false, useMlock: true })).toBeUndefined();
    // A quantized K cache alone works without flash attention.
    expect(findLoadOptionsProblem({ flashAttention: "off", kvCacheKeyType: "q8_0", kvCacheValueType: "f16" })).toBeUndefined();
  });

  it("refuses a quantized V cache with flash attention off, naming the V cache", () => {
    expect(findLoadOptionsProblem({ flashAttention: "off", kvCacheValueType: "q4_0" })).toEqual({
      param: "kvCacheValueType",
      message: expect.stringMatching(/q4_0 V cache needs flash attention/),
    });
  });

  it.each([
    [{ flashAttention: "yes" }, "flashAttention"],
    [{ kvCacheKeyType: "q5_1" }, "kvCacheKeyType"],
    [{ kvCacheValueType: "F16" }, "kvCacheValueType"],
    [{ batchSize: 0 }, "batchSize"],
    [{ batchSize: 1.5 }, "batchSize"],
    [{ batchSize: MAX_BATCH_SIZE + 1 }, "batchSize"],
    [{ useMmap: "no" }, "useMmap"],
    [{ useMlock: 1 }, "useMlock"],
    [{ speculative: "draft" }, "draftModel"],
    [{ speculative: "prompt-lookup", draftModel: "small" }, "draftModel"],
    [{ draftModel: "" }, "draftModel"],
    [{ draftModel: 7 }, "draftModel"],
  ])("refuses %j (values may come from anywhere)", (options, param) => {
    expect(findLoadOptionsProblem(options as never)?.param).toBe(param);
  });
});

describe("toLlamaLoadOptions", () => {
  it("passes node-llama-cpp the model's context defaults, so GPU layers are resolved for them", () => {
    expect(toLlamaLoadOptions({ flashAttention: "on", kvCacheKeyType: "q8_0", kvCacheValueType: "q4_0", batchSize: 64, useMmap: false, useMlock: true }, true)).toEqual({
      model: {
        defaultContextFlashAttention: true,
        experimentalDefaultContextKvCacheKeyType: "Q8_0",
        experimentalDefaultContextKvCacheValueType: "Q4_0",
        useMmap: false,
        useMlock: true,
      },
      context: { batchSize: 64 },
      estimateFlashAttention: true,
    });
  });

  it("leaves llama.cpp's defaults alone when nothing is set", () => {
    expect(toLlamaLoadOptions({}, true)).toEqual({
      model: { defaultContextFlashAttention: "auto", experimentalDefaultContextKvCacheKeyType: "F16", experimentalDefaultContextKvCacheValueType: "F16" },
      context: {},
      estimateFlashAttention: "auto",
    });
  });

  it("turns auto flash attention on for a quantized V cache", () => {
    expect(toLlamaLoadOptions({ kvCacheValueType: "q8_0" }, true).model.defaultContextFlashAttention).toBe(true);
    expect(toLlamaLoadOptions({ kvCacheKeyType: "q8_0" }, true).model.defaultContextFlashAttention).toBe("auto");
  });

  it("refuses flash attention for a model that cannot use it, naming the option that asked for it", () => {
    expect(() => toLlamaLoadOptions({ flashAttention: "on" }, false)).toThrow(expect.objectContaining({ param: "flashAttention" }));
    expect(() => toLlamaLoadOptions({ kvCacheValueType: "q8_0" }, false)).toThrow(expect.objectContaining({ param: "kvCacheValueType" }));
    // "auto" on such a model is simply off, in the estimate too.
    expect(toLlamaLoadOptions({}, false).estimateFlashAttention).toBe(false);
  });

  it("throws InvalidArgumentError (a 400) for a refused combination", () => {
    expect(() => toLlamaLoadOptions({ flashAttention: "off", kvCacheValueType: "q8_0" }, true)).toThrow(InvalidArgumentError);
  });
});

describe("mergeLoadOptions", () => {
  it("lets a load override the server's defaults, except with undefined", () => {
    expect(mergeLoadOptions({ kvCacheKeyType: "q8_0", batchSize: 64 }, { batchSize: 128, kvCacheKeyType: undefined })).toEqual({ kvCacheKeyType: "q8_0", batchSize: 128 });
  });
});

describe("serve and inspect flags", () => {
  it("parse the load option flags into the server's load defaults", () => {
    const options = parseServeOptions(["--flash-attention", "on", "--kv-cache-type", "q8_0", "--kv-cache-value-type", "q4_0", "--batch-size", "64", "--no-mmap", "--mlock"], {});
    expect(options).toMatchObject({
      loadOptions: { flashAttention: "on", kvCacheKeyType: "q8_0", kvCacheValueType: "q4_0", batchSize: 64, useMmap: false, useMlock: true },
    });
    expect(parseServeOptions([], {})).toMatchObject({ loadOptions: {} });
    // A draft model alone means speculative "draft".
    expect(parseServeOptions(["--draft-model", "small"], {})).toMatchObject({ loadOptions: { draftModel: "small" } });
    expect(effectiveSpeculativeMode({ draftModel: "small" })).toBe("draft");
    expect(effectiveSpeculativeMode({})).toBe("off");
  });

  it.each([
    [["--flash-attention", "maybe"], /--flash-attention must be one of auto, on, off/],
    [["--kv-cache-type", "q5_0"], /--kv-cache-type must be one of f16, q8_0, q4_0/],
    [["--batch-size", "0"], /--batch-size must be an integer from 1 to 8192/],
    [["--kv-cache-type", "q8_0", "--flash-attention", "off"], /q8_0 V cache needs flash attention.*--flash-attention to on or auto, or --kv-cache-value-type to f16/],
    [["--speculative", "draft"], /speculative "draft" needs a --draft-model/],
    [["--speculative", "prompt-lookup", "--draft-model", "small"], /a --draft-model is used only with speculative "draft"/],
  ])("refuse %j", (args, message) => {
    expect(() => parseServeOptions(args, {})).toThrow(CliUsageError);
    expect(() => parseServeOptions(args, {})).toThrow(message);
  });
});

describe("the contract's load options", () => {
  it("accept the runtime options", () => {
    const request = { id: "m", options: { flashAttention: "auto", kvCacheKeyType: "q8_0", kvCacheValueType: "q8_0", batchSize: 256, useMmap: false, useMlock: false } };
    expect(parseRequest(loadModelRequest, request)).toEqual(request);
  });

  it.each([
    [{ flashAttention: true }, "options.flashAttention"],
    [{ kvCacheValueType: "q2_k" }, "options.kvCacheValueType"],
    [{ batchSize: 100_000 }, "options.batchSize"],
    [{ useMlock: "yes" }, "options.useMlock"],
    [{ flashAttention: "off", kvCacheValueType: "q8_0" }, "options.kvCacheValueType"],
  ])("refuse %j naming the option", (options, param) => {
    expect(() => parseRequest(loadModelRequest, { id: "m", options })).toThrow(expect.objectContaining({ code: "invalid_argument", param }));
  });
});

describe("Ollama's load options", () => {
  it("accept num_batch, use_mmap and use_mlock, and refuse bad ones", () => {
    expect(ollamaOptionsSchema.parse({ num_batch: 32, use_mmap: false, use_mlock: true })).toMatchObject({ num_batch: 32, use_mmap: false, use_mlock: true });
    for (const bad of [{ num_batch: 0 }, { num_batch: 2.5 }, { use_mmap: "false" }, { use_mlock: 1 }]) {
      expect(ollamaOptionsSchema.safeParse(bad).success).toBe(false);
    }
  });
});

describe("a draft model's vocabulary", () => {
  const tokens = ["<unk>", "<s>", "</s>", "a", "b", "c", "d", "e"];
  const target = { model: "llama", tokens, bos_token_id: 1, eos_token_id: 2 };

  it("is compatible when it is the same, or differs only in the first ids or by a few trailing tokens", () => {
    expect(findDraftVocabularyMismatch(target, { ...target })).toBeUndefined();
    expect(findDraftVocabularyMismatch(target, { ...target, tokens: ["x", ...tokens.slice(1, 7)] })).toBeUndefined();
  });

  it.each([
    [{ ...target, model: "gpt2" }, /tokenizer is gpt2/],
    [{ ...target, tokens: [...tokens.slice(0, 6), "z", "e"] }, /token 6 differs/],
    [{ ...target, eos_token_id: 3 }, /end token differs/],
    [{ ...target, tokens: [...tokens, ...Array.from({ length: 200 }, (_, i) => `t${i}`)] }, /208 tokens, the model's 8/],
    [{ ...target, tokens: undefined }, /vocabulary is missing/],
  ])("refuses %#", (draft, reason) => {
    expect(findDraftVocabularyMismatch(target, draft)).toMatch(reason);
  });
});
