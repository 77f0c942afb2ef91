import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../../src/core/engine/LoadedModel.js";
import { sharedModelPath } from "../helpers/sharedModels.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

const storiesPath = sharedModelPath("stories260K.gguf");
/** The known greedy continuation (../shared/models/README.md). */
const STORIES_CONTINUATION = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.";

describe.skipIf(!storiesPath)("stories260K.gguf (a real trained model)", () => {
  let testCore: TestCore;
  let model: LoadedModel;

  beforeAll(async () => {
    testCore = createTestCore();
    model = await testCore.core.engine.loadModel(storiesPath!, { contextSize: 256, parallel: 1 });
  });
  afterAll(async () => {
    await model?.dispose();
    await testCore?.dispose();
  });

  it("continues 'Once upon a time' exactly as llama.cpp does", async () => {
    const stream = model.complete("Once upon a time", { temperature: 0, maxTokens: 40 });
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta.text);
    const result = await stream.result;
    expect(result.text).toBe(STORIES_CONTINUATION);
    expect(deltas.join("")).toBe(result.text);
    expect(result.finishReason).toBe("length");
    expect(result.usage).toEqual({ promptTokens: 5, completionTokens: 40, cachedPromptTokens: 0 });
  });

  it("has no chat template, so chat uses the plain fallback layout", async () => {
    expect(model.info.hasChatTemplate).toBe(false);
    expect(model.info.chatWrapper).toBe("General");
    const result = await model.chat([{ role: "user", content: "Tell me a story." }], { temperature: 0, maxTokens: 8 }).collect();
    expect(result.usage.completionTokens).toBe(8);
    expect(result.text.length).toBeGreaterThan(0);
  });

  it("reports load statistics", () => {
    expect(model.stats.modelBytes).toBeGreaterThan(1_000_000);
    expect(model.stats.loadMs).toBeGreaterThan(0);
    expect(model.info.threads).toBe(1);
  });
});
