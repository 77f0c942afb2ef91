import { copyFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchEmbedder } from "../../src/core/engine/BatchEmbedder.js";
import { embeddingInputTokens } from "../../src/core/engine/encoderInputs.js";
import type { LoadedModel } from "../../src/core/engine/LoadedModel.js";
import { AbortedError } from "../../src/core/errors.js";
import { loadBatchEmbeddingBinding, type BatchEmbeddingBinding, type NativeHandle } from "../../src/core/llama/batchEmbeddingBinding.js";
import { getFixtureModelPath, getRerankerModelPath, rerankerScoreOf } from "../fixtures/gguf/index.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

/** A real trained llama (../shared/models/README.md), for vectors that are not one-hot. */
const STORIES_MODEL = path.resolve(process.cwd(), "../shared/models/stories260K.gguf");
const hasStories = existsSync(STORIES_MODEL);

let testCore: TestCore;
let model: LoadedModel;
let binding: BatchEmbeddingBinding;

beforeAll(async () => {
  testCore = createTestCore();
  copyFileSync(hasStories ? STORIES_MODEL : await getFixtureModelPath(), path.join(testCore.modelsDir, "embedder.gguf"));
  // A context above the 512-token batch, so that one text can be too long to batch yet fit.
  model = await testCore.core.engine.loadModel("embedder", { contextSize: 1024, parallel: 1 });
  // `npm test` builds it (scripts/build-native.mjs); this machine has the compiler it needs.
  const loaded = loadBatchEmbeddingBinding();
  if (loaded instanceof Error) throw loaded;
  binding = loaded;
});
afterAll(async () => {
  await model?.dispose();
  await testCore?.dispose();
});

/** Reference vectors: node-llama-cpp's own embedding context, one text at a time. */
async function oneByOne(texts: readonly string[]): Promise<number[][]> {
  const context = await model.model.createEmbeddingContext({ contextSize: model.contextSize, threads: 1 });
  try {
    const vectors: number[][] = [];
    for (const text of texts) vectors.push([...(await context.getEmbeddingFor(text)).vector]);
    return vectors;
  } finally {
    await context.dispose();
  }
}

const words = ["fox", "dog", "cat", "girl", "tree", "ball"];
const texts = Array.from({ length: 150 }, (_, index) => `Once upon a time the ${words[index % words.length]} number ${index} went out to play.`);

describe("batched embeddings (native/batchEmbedding.cc)", () => {
  it("equal node-llama-cpp's one-at-a-time vectors, in a fraction of the evaluations", async () => {
    const expected = await oneByOne(texts);
    const result = await model.embed(texts);
    expect(result.embeddings).toHaveLength(texts.length);
    console.log(`batched embeddings: ${texts.length} texts in ${result.evaluations} evaluations`);
    for (const [index, vector] of result.embeddings.entries()) {
      expect(vector.length).toBe(expected[index]!.length);
      expect(Math.max(...vector.map((value, i) => Math.abs(value - expected[index]![i]!)))).toBeLessThanOrEqual(1e-6);
    }
    // 150 texts of ~20 tokens: at most 64 texts or 512 tokens per evaluation.
    const perText = embeddingInputTokens(model.model, model.model.tokenize(texts[0]!, false)).length;
    expect(result.evaluations).toBeGreaterThanOrEqual(Math.ceil(texts.length / Math.floor(512 / (perText - 2))));
    expect(result.evaluations).toBeLessThan(texts.length / 4);
    expect(result.promptTokens).toBe(texts.reduce((sum, text) => sum + model.model.tokenize(text, false).length, 0));
  });

  it("gives a text longer than one batch to node-llama-cpp, in order with the rest", async () => {
    const long = Array.from({ length: 150 }, (_, index) => `${words[index % words.length]} and`).join(" ");
    const longTokens = model.model.tokenize(long, false).length;
    expect(longTokens).toBeGreaterThan(512);
    expect(longTokens).toBeLessThan(1000);
    const inputs = ["short one", long, "short two"];
    const expected = await oneByOne(inputs);
    const result = await model.embed(inputs);
    expect(result.evaluations).toBe(2); // the short ones together, the long one alone
    for (const [index, vector] of result.embeddings.entries()) {
      expect(Math.max(...vector.map((value, i) => Math.abs(value - expected[index]![i]!)))).toBeLessThanOrEqual(1e-6);
    }
  });

  it("stops between evaluations when aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(model.embed(texts, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it("lets an interactive request go before batch lines waiting for the model's embedding turn", async () => {
    const finished: string[] = [];
    const track = (name: string, work: Promise<unknown>) => work.then(() => finished.push(name));
    // The first holds the turn; the other two wait, the batch line first in time.
    const holder = track("holder", model.embed(texts, { priority: "background" }));
    const batchLine = track("batch line", model.embed(texts.slice(0, 10), { priority: "background" }));
    const interactive = track("interactive", model.embed(["a client is waiting"]));
    await Promise.all([holder, batchLine, interactive]);
    expect(finished).toEqual(["holder", "interactive", "batch line"]);
  });
});

describe("batched rankings", () => {
  let reranker: LoadedModel;
  beforeAll(async () => {
    copyFileSync(await getRerankerModelPath(), path.join(testCore.modelsDir, "reranker.gguf"));
    reranker = await testCore.core.engine.loadModel("reranker", { contextSize: 512, parallel: 1 });
  });
  afterAll(async () => {
    await reranker?.dispose();
  });

  it("score as node-llama-cpp's ranking context does, many documents an evaluation", async () => {
    const documents = Array.from({ length: 40 }, (_, index) => `document ${index} about the ${["fox", "dog", "cat", "bird"][index % 4]}`);
    const query = "which animal?";
    const context = await reranker.model.createRankingContext({ contextSize: 512, threads: 1 });
    try {
      const expected = await context.rankAll(query, documents);
      const result = await reranker.rerank(query, documents);
      // Up to 512 tokens an evaluation: 40 pairs of a few dozen tokens take a handful.
      expect(result.evaluations).toBeLessThanOrEqual(Math.ceil(result.promptTokens / 400));
      expect(result.evaluations).toBeLessThan(documents.length / 5);
      for (const [index, score] of result.scores.entries()) expect(Math.abs(score - expected[index]!)).toBeLessThanOrEqual(1e-6);
      expect(result.scores[0]).toBeCloseTo(rerankerScoreOf("fox"), 4);
      expect(result.promptTokens).toBe(documents.reduce((sum, document) => sum + context.calculateInputLength(query, document), 0));
    } finally {
      await context.dispose();
    }
  });

  it("still refuses a model without a ranking head, before llama.cpp sees it", async () => {
    await expect(model.rerank("q", ["a"])).rejects.toMatchObject({ param: "model", message: "'embedder' is not a reranking model" });
  });
});

describe("the binding refuses bad input without crashing", () => {
  let embedder: { model: NativeHandle; context: NativeHandle; batchSize: number };

  beforeAll(async () => {
    const nativeModel = await binding.loadModel(model.path, { gpuLayers: 0 });
    const created = await binding.createContext(nativeModel, { contextSize: 64, sequences: 4, threads: 1 });
    embedder = { model: nativeModel, context: created.context, batchSize: created.batchSize };
  });

  const tokens = (...ids: number[]) => Int32Array.from(ids);
  const lengths = (...counts: number[]) => Uint32Array.from(counts);

  it("checks token ids against the vocabulary and lengths against the tokens", async () => {
    const vocabulary = model.model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    expect(() => binding.embed(embedder.context, tokens(1, -5), lengths(2))).toThrow(/not in the vocabulary/);
    expect(() => binding.embed(embedder.context, tokens(1, vocabulary), lengths(2))).toThrow(/not in the vocabulary/);
    expect(() => binding.embed(embedder.context, tokens(1, 2, 3), lengths(2))).toThrow(/do not add up/);
    expect(() => binding.embed(embedder.context, tokens(1, 2), lengths(2, 0))).toThrow(/no tokens/);
    expect(() => binding.embed(embedder.context, new Int32Array(embedder.batchSize + 1).fill(1), lengths(embedder.batchSize + 1))).toThrow(/more than the batch/);
    expect(() => binding.embed(embedder.context, tokens(), lengths())).toThrow(/no texts/);
    expect(() => binding.embed(embedder.context, [1, 2] as unknown as Int32Array, lengths(2))).toThrow(/Int32Array/);
    expect(() => binding.embed({} as NativeHandle, tokens(1), lengths(1))).toThrow(/not a live embedding context/);
    expect(() => binding.createContext(embedder.model, { contextSize: 4, sequences: 1, threads: 1 })).toThrow(/contextSize/);
    expect(() => binding.createContext(embedder.model, { contextSize: 64, sequences: 1000, threads: 1 })).toThrow(/sequences/);
    expect(() => binding.createContext(embedder.model, { contextSize: 16, sequences: 32, threads: 1 })).toThrow(/sequences must not exceed/);
    await expect(binding.loadModel(path.join(testCore.tempDir, "missing.gguf"), { gpuLayers: 0 })).rejects.toThrow(/could not load/);
  });

  it("refuses a second call while one runs, and a model freed before its context", async () => {
    const running = binding.embed(embedder.context, tokens(1, 2, 3), lengths(3));
    expect(() => binding.embed(embedder.context, tokens(1), lengths(1))).toThrow(/busy/);
    expect(() => binding.freeContext(embedder.context)).toThrow(/busy/);
    await running;
    expect(() => binding.freeModel(embedder.model)).toThrow(/contexts first/);
    binding.freeContext(embedder.context);
    expect(() => binding.embed(embedder.context, tokens(1), lengths(1))).toThrow(/not a live embedding context/);
    binding.freeModel(embedder.model);
    expect(() => binding.createContext(embedder.model, { contextSize: 64, sequences: 1, threads: 1 })).toThrow(/not a loaded model/);
  });

  it("BatchEmbedder is refused for a model on the GPU (a second copy would double its VRAM)", async () => {
    await expect(BatchEmbedder.create({ binding, modelPath: model.path, gpuLayers: 1, contextSize: 256, threads: 1 })).rejects.toThrow(/on the GPU/);
  });

  it("BatchEmbedder packs texts by its token budget", async () => {
    const batcher = await BatchEmbedder.create({ binding, modelPath: model.path, gpuLayers: 0, contextSize: 256, threads: 1, maxBatchTokens: 32, maxSequences: 64 });
    try {
      expect(batcher.batchTokens).toBe(32);
      // Ten texts of 10 tokens: three fit in 32 tokens, so four evaluations.
      const ten = Array.from({ length: 10 }, (_, index) => Array.from({ length: 10 }, (_, position) => ((index * 7 + position) % 50) + 3) as Token[]);
      const result = await batcher.embed(ten);
      expect(result.evaluations).toBe(4);
      expect(result.vectors).toHaveLength(10);
    } finally {
      batcher.dispose();
    }
  });
});
