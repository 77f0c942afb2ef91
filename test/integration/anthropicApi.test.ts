import Anthropic, { type APIError } from "@anthropic-ai/sdk";
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FIXTURE_SENTENCE, getThinkingModelPath, THINKING_FIXTURE_ANSWER, THINKING_FIXTURE_THOUGHT } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

const API_KEY = "anthropic-test-key";
const ORIGIN = "https://app.example";
let server: TestServer;
let client: Anthropic;

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [API_KEY], corsOrigins: [ORIGIN], bodyLimitBytes: 256 * 1024 });
  // The official SDK unchanged: only its base URL and key (sent as x-api-key) are set.
  client = new Anthropic({ baseURL: server.url, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(() => server?.dispose());

/**
 * Adds the sampling fields the API takes but this SDK version's types no longer list (they
 * are sent as given).
 */
function withSampling(params: Anthropic.MessageCreateParamsNonStreaming, sampling: { temperature?: number; top_p?: number; top_k?: number }): Anthropic.MessageCreateParamsNonStreaming {
  return { ...params, ...sampling };
}

const hello: Anthropic.MessageParam[] = [{ role: "user", content: "Hello" }];

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather",
  input_schema: { type: "object", properties: { city: { enum: ["Paris", "Tokyo"] } }, required: ["city"] },
};

describe("the official @anthropic-ai/sdk client", () => {
  it("creates a message: exact text at temperature 0, end_turn, usage", async () => {
    const message = await client.messages.create(withSampling({ model: "fixture", max_tokens: 64, system: "Be brief.", messages: hello }, { temperature: 0 }));
    expect(message.id).toMatch(/^msg_/);
    expect(message).toMatchObject({ type: "message", role: "assistant", model: "fixture", stop_reason: "end_turn", stop_sequence: null });
    expect(message.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE }]);
    expect(message.usage.output_tokens).toBe(10);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
  });

  it("accepts thinking settings (the engine's reasoning options)", async () => {
    for (const thinking of [{ type: "enabled", budget_tokens: 16 }, { type: "disabled" }] as const) {
      const message = await client.messages.create({ model: "fixture", max_tokens: 64, thinking, messages: hello });
      // The fixture does not think: no thinking block, just its sentence.
      expect(message.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE }]);
    }
  });

  it("accepts thinking blocks sent back, tool_choice none, top_p/top_k and metadata.user_id", async () => {
    const message = await client.messages.create(withSampling({
      model: "fixture",
      max_tokens: 64,
      metadata: { user_id: "user-1" },
      tools: [weatherTool],
      tool_choice: { type: "none" },
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: [{ type: "thinking", thinking: "Hm.", signature: "" }, { type: "text", text: "Hello." }] },
        { role: "user", content: "Hello" },
      ],
    }, { temperature: 0, top_p: 1, top_k: 1 }));
    expect(message.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE }]);
    expect(message.stop_reason).toBe("end_turn");
  });

  it("continues an assistant prefill: the reply is the rest of the text, as Anthropic answers it", async () => {
    const prefilled: Anthropic.MessageParam[] = [...hello, { role: "assistant", content: "The quick" }];
    const message = await client.messages.create(withSampling({ model: "fixture", max_tokens: 64, messages: prefilled }, { temperature: 0 }));
    expect(message.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE.slice("The quick ".length) }]);
    expect(message.stop_reason).toBe("end_turn");
    const counted = await client.messages.countTokens({ model: "fixture", messages: prefilled });
    expect(counted.input_tokens).toBe(message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0));
  });

  it("stops at max_tokens (stop_reason max_tokens) and at stop sequences (stop_reason stop_sequence)", async () => {
    const short = await client.messages.create({ model: "fixture", max_tokens: 3, messages: hello });
    expect(short.content).toEqual([{ type: "text", text: "The quick brown" }]);
    expect(short.stop_reason).toBe("max_tokens");
    const stopped = await client.messages.create({ model: "fixture", max_tokens: 64, messages: hello, stop_sequences: [" jumps", " lazy"] });
    expect(stopped.content).toEqual([{ type: "text", text: "The quick brown fox" }]);
    expect(stopped.stop_reason).toBe("stop_sequence");
    expect(stopped.stop_sequence).toBe(" jumps");
  });

  it("constrains the reply with output_config.format (json_schema)", async () => {
    const schema = { type: "object", properties: { city: { enum: ["Paris", "Tokyo"] } }, required: ["city"] };
    const message = await client.messages.create({ model: "fixture", max_tokens: 64, messages: hello, output_config: { format: { type: "json_schema", schema } } });
    const text = message.content[0]!.type === "text" ? message.content[0]!.text : "";
    expect(["Paris", "Tokyo"]).toContain((JSON.parse(text) as { city: string }).city);
  });

  it("streams a stop at a stop sequence", async () => {
    const final = await client.messages.stream({ model: "fixture", max_tokens: 64, messages: hello, stop_sequences: [" lazy"] }).finalMessage();
    expect(final.content).toEqual([{ type: "text", text: "The quick brown fox jumps over the" }]);
    expect(final).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: " lazy" });
  });

  it("streams Anthropic's event sequence; finalMessage() has the text and usage", async () => {
    const stream = client.messages.stream({ model: "fixture", max_tokens: 64, messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] });
    const types: string[] = [];
    let streamedText = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") streamedText += event.delta.text;
    }
    const final = await stream.finalMessage();
    expect(streamedText).toBe(FIXTURE_SENTENCE);
    expect(final.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBe(10);
    expect(final.usage.input_tokens + (final.usage.cache_read_input_tokens ?? 0)).toBeGreaterThan(0);
    // The SDK consumes ping events itself.
    const deltas = types.filter((type) => type === "content_block_delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual(["message_start", "content_block_start", ...Array<string>(deltas).fill("content_block_delta"), "content_block_stop", "message_delta", "message_stop"]);
  });

  it("calls a named tool (tool_use with parsed input), then takes its tool_result", async () => {
    const request = {
      model: "fixture",
      max_tokens: 80,
      messages: [{ role: "user" as const, content: "Weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: { type: "tool" as const, name: "get_weather" },
    };
    const message = await client.messages.create(request);
    expect(message.stop_reason).toBe("tool_use");
    const toolUse = message.content.find((block): block is Anthropic.ToolUseBlock => block.type === "tool_use")!;
    expect(toolUse.id).toMatch(/^toolu_/);
    expect(toolUse.name).toBe("get_weather");
    expect(["Paris", "Tokyo"]).toContain((toolUse.input as { city: string }).city);

    // Streamed, the call arrives as a tool_use block with its input in input_json_delta.
    const stream = client.messages.stream(request);
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toEqual([expect.objectContaining({ type: "tool_use", name: "get_weather", input: toolUse.input })]);

    const followUp = await client.messages.create({
      model: "fixture",
      max_tokens: 64,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [toolUse] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: toolUse.id, content: [{ type: "text", text: '{"temperature": 21}' }] }] },
      ],
    });
    expect(followUp.content).toEqual([{ type: "text", text: FIXTURE_SENTENCE }]);
    expect(followUp.stop_reason).toBe("end_turn");
  });

  it("counts tokens exactly: count_tokens equals the input_tokens of the same request", async () => {
    const prompt = { model: "fixture", system: [{ type: "text" as const, text: "Be brief." }], messages: hello };
    const counted = await client.messages.countTokens(prompt);
    // As in Anthropic's API, the prompt is the tokens evaluated plus those read from the cache.
    const promptTokensOf = (message: Anthropic.Message) => message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0);
    const created = await client.messages.create({ ...prompt, max_tokens: 2 });
    expect(counted.input_tokens).toBe(promptTokensOf(created));

    // Tool definitions count as the template renders them.
    const withTools = { ...prompt, tools: [weatherTool] };
    const countedWithTools = await client.messages.countTokens(withTools);
    expect(countedWithTools.input_tokens).toBeGreaterThan(counted.input_tokens);
    const createdWithTools = await client.messages.create({ ...withTools, max_tokens: 2 });
    expect(countedWithTools.input_tokens).toBe(promptTokensOf(createdWithTools));
    // A forced call renders its instructions instead of the tool list: counted the same way as it runs.
    const forced = { ...withTools, tool_choice: { type: "tool" as const, name: "get_weather" } };
    const countedForced = await client.messages.countTokens(forced);
    expect(countedForced.input_tokens).not.toBe(countedWithTools.input_tokens);
    expect(countedForced.input_tokens).toBe(promptTokensOf(await client.messages.create({ ...forced, max_tokens: 80 })));
  });
});

describe("thinking (the thinking fixture: a thought, then the sentence)", () => {
  beforeAll(async () => {
    await copyFile(await getThinkingModelPath(), path.join(server.modelsDir, "thinking.gguf"));
    const listed = async () => ((await (await fetch(`${server.url}/v1/models`, { headers: { "x-api-key": API_KEY } })).json()) as { data: { id: string }[] }).data.map((model) => model.id);
    await vi.waitFor(async () => expect(await listed()).toContain("thinking"), { timeout: 30_000, interval: 50 });
  });

  it("puts a thinking block (empty signature) before the text, created and streamed", async () => {
    const request = { model: "thinking", max_tokens: 64, messages: hello, thinking: { type: "enabled" as const, budget_tokens: 32 } };
    const message = await client.messages.create(request);
    expect(message.content).toEqual([
      { type: "thinking", thinking: THINKING_FIXTURE_THOUGHT, signature: "" },
      { type: "text", text: THINKING_FIXTURE_ANSWER },
    ]);
    const stream = client.messages.stream(request);
    const deltaTypes = new Set<string>();
    stream.on("streamEvent", (event) => {
      if (event.type === "content_block_delta") deltaTypes.add(event.delta.type);
    });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      { type: "thinking", thinking: THINKING_FIXTURE_THOUGHT, signature: "" },
      expect.objectContaining({ type: "text", text: THINKING_FIXTURE_ANSWER }),
    ]);
    expect([...deltaTypes].sort()).toEqual(["signature_delta", "text_delta", "thinking_delta"]);

    // Disabled: no thinking block. The thought goes back with the next turn and is accepted.
    const plain = await client.messages.create({
      model: "thinking",
      max_tokens: 64,
      thinking: { type: "disabled" },
      messages: [...hello, { role: "assistant", content: message.content }, { role: "user", content: "Again" }],
    });
    expect(plain.content).toEqual([{ type: "text", text: THINKING_FIXTURE_ANSWER }]);

    // A prefill with thinking off: the closed empty thought goes before the prefilled text.
    const prefilled = await client.messages.create({
      model: "thinking",
      max_tokens: 64,
      thinking: { type: "disabled" },
      messages: [...hello, { role: "assistant", content: "The quick" }],
    });
    expect(prefilled.content).toEqual([{ type: "text", text: THINKING_FIXTURE_ANSWER.slice("The quick ".length) }]);
  });

  it("counts the prompt as the thinking setting shapes it", async () => {
    const promptTokensOf = (message: Anthropic.Message) => message.usage.input_tokens + (message.usage.cache_read_input_tokens ?? 0);
    const counts: number[] = [];
    for (const thinking of [{ type: "enabled", budget_tokens: 32 }, { type: "disabled" }] as const) {
      const counted = await client.messages.countTokens({ model: "thinking", messages: hello, thinking });
      const created = await client.messages.create({ model: "thinking", max_tokens: 64, messages: hello, thinking });
      expect(counted.input_tokens, thinking.type).toBe(promptTokensOf(created));
      counts.push(counted.input_tokens);
    }
    // Without thinking, the prompt ends with an empty thought: more tokens.
    expect(counts[1]).toBeGreaterThan(counts[0]!);
  });
});

describe("errors as the Anthropic SDK sees them", () => {
  it("a wrong x-api-key is an AuthenticationError in Anthropic's shape", async () => {
    const wrong = new Anthropic({ baseURL: server.url, apiKey: "wrong", maxRetries: 0 });
    const error = await wrong.messages.create({ model: "fixture", max_tokens: 8, messages: hello }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as APIError).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("an unknown model is a NotFoundError", async () => {
    const error = await client.messages.create({ model: "nope", max_tokens: 8, messages: hello }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as APIError).error).toMatchObject({ type: "error", error: { type: "not_found_error" } });
    const counting = await client.messages.countTokens({ model: "nope", messages: hello }).catch((caught: unknown) => caught);
    expect(counting).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("an image block is a BadRequestError naming it", async () => {
    const error = await client.messages
      .create({
        model: "fixture",
        max_tokens: 8,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } }] }],
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).error).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect((error as Error).message).toMatch(/'image' content blocks are not supported/);
  });

  it("a missing max_tokens is a BadRequestError; an unknown route under /v1/messages is Anthropic's not_found_error", async () => {
    const response = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: hello }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "Missing required parameter: 'max_tokens'" } });
    const unknown = await fetch(`${server.url}/v1/messages/batches`, { headers: { "x-api-key": API_KEY } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  });

  it("a body over the limit is a 413 in Anthropic's shape", async () => {
    const error = await client.messages
      .create({ model: "fixture", max_tokens: 8, messages: [{ role: "user", content: "x".repeat(300 * 1024) }] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 413, error: { type: "error", error: { type: "request_too_large" } } });
  });

  it("a CORS preflight allows Anthropic's headers", async () => {
    const response = await fetch(`${server.url}/v1/messages`, {
      method: "OPTIONS",
      headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "x-api-key, anthropic-version, anthropic-beta" },
    });
    expect(response.status).toBe(204);
    const allowed = (response.headers.get("access-control-allow-headers") ?? "").split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(["x-api-key", "anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access"]));
  });
});
