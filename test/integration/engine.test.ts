import { copyFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModel } from "../../src/core/engine/LoadedModel.js";
import { ContextLengthExceededError, InvalidArgumentError, ModelLoadFailedError, ModelNotFoundError } from "../../src/core/errors.js";
import { FIXTURE_SENTENCE, getFixtureModelPath, writeNotGguf, writeTruncatedGguf } from "../fixtures/gguf/index.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

let testCore: TestCore;
let model: LoadedModel;

beforeAll(async () => {
  testCore = createTestCore();
  copyFileSync(await getFixtureModelPath(), path.join(testCore.modelsDir, "fixture.gguf"));
  // Tool prompts are long for the fixture vocabulary (mostly single letters), hence 2048.
  model = await testCore.core.engine.loadModel("fixture", { contextSize: 2048, parallel: 4 });
});
// The engine keeps no registry: this test owns its model.
afterAll(async () => {
  await model?.dispose();
  await testCore?.dispose();
});

const user = (content: string) => [{ role: "user" as const, content }];

describe("engine with the deterministic fixture model", () => {
  it("chat returns the known sentence, streamed in order, ending at the end token", async () => {
    const stream = model.chat(user("Hello there"), { temperature: 0 });
    const deltas: string[] = [];
    let tokens = 0;
    for await (const delta of stream) {
      deltas.push(delta.text);
      tokens += delta.tokenCount;
    }
    const result = await stream.result;
    expect(result.text).toBe(FIXTURE_SENTENCE);
    expect(deltas.join("")).toBe(FIXTURE_SENTENCE);
    expect(deltas.length).toBeGreaterThan(5);
    expect(result.finishReason).toBe("stop");
    expect(result.usage.completionTokens).toBe(10);
    expect(tokens).toBe(10);
    expect(result.usage.promptTokens).toBeGreaterThan(3);
    expect(result.timings.firstTokenMs).toBeGreaterThanOrEqual(result.timings.promptMs);
    expect(result.timings.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it("sampling at temperature 1 still follows the chain (logit gap of 20)", async () => {
    const result = await model.chat(user("Hi"), { temperature: 1, seed: 7 }).collect();
    expect(result.text).toBe(FIXTURE_SENTENCE);
  });

  it("complete continues any prompt with the sentence", async () => {
    const result = await model.complete("Once upon a time", { temperature: 0 }).collect();
    expect(result.text.trim()).toBe(FIXTURE_SENTENCE);
    expect(result.finishReason).toBe("stop");
  });

  it("finishes with 'length' when maxTokens cuts it", async () => {
    const result = await model.chat(user("Hi"), { temperature: 0, maxTokens: 3 }).collect();
    expect(result.text).toBe("The quick brown");
    expect(result.finishReason).toBe("length");
    expect(result.usage.completionTokens).toBe(3);
  });

  it("stops at stop strings, which are not part of the output", async () => {
    const result = await model.chat(user("Hi"), { temperature: 0, stop: [" fox"] }).collect();
    expect(result.text).toBe("The quick brown");
    expect(result.finishReason).toBe("stop");
  });

  it("aborts mid-stream with finish reason 'abort' and frees the sequence", async () => {
    const controller = new AbortController();
    const stream = model.chat(user("Hi"), { temperature: 0, signal: controller.signal, ignoreEos: true, maxTokens: 200 });
    let seen = 0;
    for await (const _ of stream) if (++seen === 3) controller.abort();
    const result = await stream.result;
    expect(result.finishReason).toBe("abort");
    expect(result.usage.completionTokens).toBeLessThan(200);
    expect(model.sequences.busy).toBe(0);
  });

  it("ignoreEos keeps generating past the end token", async () => {
    const result = await model.chat(user("Hi"), { temperature: 0, ignoreEos: true, maxTokens: 15 }).collect();
    expect(result.finishReason).toBe("length");
    expect(result.usage.completionTokens).toBe(15);
    expect(result.text.startsWith(FIXTURE_SENTENCE)).toBe(true);
  });

  it("runs parallel sequences at once and queues the rest, all exact", async () => {
    const streams = Array.from({ length: 8 }, () => model.chat(user("Hi"), { temperature: 0 }));
    const results = await Promise.all(streams.map((stream) => stream.collect()));
    for (const result of results) expect(result.text).toBe(FIXTURE_SENTENCE);
    expect(model.sequences).toEqual({ size: 4, busy: 0, waiting: 0 });
  });

  it("refuses prompts that do not fit the context", () => {
    expect(() => model.chat(user("word ".repeat(3000)))).toThrow(ContextLengthExceededError);
    expect(() => model.chat(user("Hi"), { maxTokens: 2047 })).toThrow(/context holds 2048 tokens/);
  });

  it("validates options", () => {
    expect(() => model.chat(user("Hi"), { temperature: 5 })).toThrow(InvalidArgumentError);
    expect(() => model.chat([])).toThrow(/at least one message/);
  });

  it("constrains output to a JSON schema with a grammar", async () => {
    const schema = {
      type: "object",
      properties: { animal: { enum: ["fox", "dog"] }, quick: { type: "boolean" } },
      required: ["animal", "quick"],
    };
    const result = await model
      .chat(user("Describe the fox as JSON"), { temperature: 0, maxTokens: 60, responseFormat: { type: "json_schema", schema } })
      .collect();
    const parsed = JSON.parse(result.text) as { animal: string; quick: boolean };
    expect(["fox", "dog"]).toContain(parsed.animal);
    expect(typeof parsed.quick).toBe("boolean");
    expect(result.finishReason).toBe("stop");
  });

  it("forces a tool call when tool_choice names a tool", async () => {
    const tools = [
      { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { enum: ["Paris", "Tokyo"] } }, required: ["city"] } },
      { name: "noop", description: "Does nothing" },
    ];
    const result = await model.chat(user("Weather in Paris?"), { temperature: 0, maxTokens: 80, tools, toolChoice: { name: "get_weather" } }).collect();
    expect(result.finishReason).toBe("tool_calls");
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls![0]!.name).toBe("get_weather");
    expect(["Paris", "Tokyo"]).toContain((JSON.parse(result.toolCalls![0]!.arguments) as { city: string }).city);
    expect(result.toolCalls![0]!.id).toMatch(/^call_/);
  });

  it("with tool_choice auto the model may answer in text", async () => {
    const tools = [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];
    const result = await model.chat(user("Hi"), { temperature: 0, tools }).collect();
    expect(result.text).toBe(FIXTURE_SENTENCE);
    expect(result.finishReason).toBe("stop");
  });

  it("accepts a conversation with a tool call and its result", async () => {
    const messages = [
      { role: "user" as const, content: "Weather?" },
      { role: "assistant" as const, content: "", toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }] },
      { role: "tool" as const, content: '{"temp":21}', toolCallId: "call_1" },
    ];
    const tools = [{ name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];
    const result = await model.chat(messages, { temperature: 0, tools }).collect();
    expect(result.text).toBe(FIXTURE_SENTENCE);
    expect(() => model.chat([{ role: "tool", content: "x", toolCallId: "nope" }])).toThrow(/answers no earlier/);
  });

  it("continues a last assistant message (a prefill) rather than starting a new turn", async () => {
    const result = await model.chat([...user("Hello there"), { role: "assistant", content: "The quick" }], { temperature: 0 }).collect();
    // The fixture's chain goes on from the prefill's last token; only the continuation is returned.
    expect(`The quick ${result.text}`).toBe(FIXTURE_SENTENCE);
    expect(result.finishReason).toBe("stop");
    // Counting sees the same prompt: the open reply with the prefill in it.
    const prompt = await model.countChatTokens([...user("Hello there"), { role: "assistant", content: "The quick" }]);
    expect(prompt).toBe(result.usage.promptTokens);
    expect(prompt).toBeGreaterThan(await model.countChatTokens(user("Hello there")));
  });

  it("refuses a prefill with a JSON response format or a forced tool call (the grammar would shape only the rest)", () => {
    const prefilled = [...user("Hi"), { role: "assistant" as const, content: "{" }];
    expect(() => model.chat(prefilled, { responseFormat: { type: "json_object" } })).toThrow(InvalidArgumentError);
  });

  it("embeds texts", async () => {
    const { embeddings, promptTokens } = await model.embed(["The quick brown fox", "lazy dog"]);
    expect(embeddings).toHaveLength(2);
    expect(embeddings[0]!.length).toBeGreaterThan(0);
    expect(embeddings[0]).not.toEqual(embeddings[1]);
    expect(promptTokens).toBeGreaterThan(3);
  });
});

describe("model loading errors", () => {
  it("a truncated GGUF gives model_load_failed with the reason, never a crash", async () => {
    await writeTruncatedGguf(await getFixtureModelPath(), path.join(testCore.modelsDir, "truncated.gguf"), 4096);
    const error = await testCore.core.engine.loadModel("truncated").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelLoadFailedError);
    expect((error as Error).message).toMatch(/truncated/);
  });

  it("a file cut inside its tensor data is reported as truncated before llama.cpp sees it", async () => {
    const fixture = await getFixtureModelPath();
    await writeTruncatedGguf(fixture, path.join(testCore.modelsDir, "cut.gguf"), statSync(fixture).size - 1000);
    const error = await testCore.core.engine.loadModel("cut").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "model_load_failed" });
    expect((error as Error).message).toMatch(/truncated: the tensor data needs \d+ bytes but the file has \d+/);
  });

  it("a file that is not GGUF gives model_load_failed", async () => {
    await writeNotGguf(path.join(testCore.modelsDir, "garbage.gguf"));
    await expect(testCore.core.engine.loadModel("garbage")).rejects.toMatchObject({ code: "model_load_failed" });
  });

  it("an unknown model gives model_not_found", async () => {
    await expect(testCore.core.engine.loadModel("missing")).rejects.toBeInstanceOf(ModelNotFoundError);
  });

});

describe("raw completion stop strings", () => {
  it("match across SentencePiece word boundaries and stream nothing past the stop", async () => {
    const stream = model.complete("Once upon a time", { temperature: 0, stop: [" fox", " lazy"] });
    let streamed = "";
    for await (const delta of stream) streamed += delta.text;
    const result = await stream.result;
    expect(result.text.trim()).toBe("The quick brown");
    expect(streamed).toBe(result.text);
    expect(result.finishReason).toBe("stop");
  });
});
