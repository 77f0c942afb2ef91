/**
 * OpenAI-dialect clients against the server: the openai package, the AI SDK
 * (`@ai-sdk/openai-compatible`) and LangChain (`@langchain/openai`). Streamed forced tool calls
 * stream only tool calls (never their JSON as text), streams carry a request id, a forced call
 * cut by max_tokens comes back as a cut call, options that change nothing are accepted, and
 * token ids can be embedded.
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { AIMessageChunk } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { jsonSchema, streamText, tool } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server?.dispose());

const weatherParameters = { type: "object" as const, properties: { city: { enum: ["Paris"] } }, required: ["city"] };
const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: weatherParameters } }];
const question = [{ role: "user" as const, content: "Weather in Paris?" }];

describe("streamed forced tool calls (openai, AI SDK, LangChain)", () => {
  it("openai: only tool_calls deltas, no content, for tool_choice required and a named function", async () => {
    for (const toolChoice of ["required", { type: "function", function: { name: "get_weather" } }] as const) {
      const stream = await client.chat.completions.create({ model: "fixture", messages: question, tools, tool_choice: toolChoice, max_tokens: 80, stream: true, temperature: 0 });
      let content = "";
      const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const choice of chunk.choices) {
          content += choice.delta.content ?? "";
          calls.push(...(choice.delta.tool_calls ?? []));
          finish = choice.finish_reason ?? finish;
        }
      }
      expect(content).toBe("");
      expect(finish).toBe("tool_calls");
      expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });
      // Streamed as generated: the first piece names the call, the next ones carry its arguments.
      expect(calls.length).toBeGreaterThan(2);
      expect(calls.filter((call) => call.id !== undefined)).toHaveLength(1);
      expect(calls.slice(1).every((call) => call.index === 0 && call.function?.name === undefined)).toBe(true);
      const args = calls.map((call) => call.function?.arguments ?? "").join("");
      expect(JSON.parse(args)).toEqual({ city: "Paris" });
    }
  });

  it("AI SDK streamText with toolChoice required: no text, one tool call", async () => {
    const provider = createOpenAICompatible({ name: "marduk", baseURL: `${server.url}/v1`, apiKey: "unused" });
    const result = streamText({
      model: provider("fixture"),
      prompt: "Weather in Paris?",
      tools: { get_weather: tool({ description: "Current weather", inputSchema: jsonSchema<{ city: "Paris" }>(weatherParameters) }) },
      toolChoice: "required",
      maxOutputTokens: 80,
      temperature: 0,
    });
    const parts: string[] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(await result.text).toBe("");
    expect(parts).not.toContain("text-delta");
    const calls = await result.toolCalls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ toolName: "get_weather", input: { city: "Paris" } });
  });

  it("LangChain bindTools(...).stream with tool_choice required: empty content, one tool call", async () => {
    const model = new ChatOpenAI({ model: "fixture", apiKey: "unused", configuration: { baseURL: `${server.url}/v1` }, temperature: 0, maxTokens: 80, maxRetries: 0 });
    const bound = model.bindTools(tools, { tool_choice: "required" });
    let full: AIMessageChunk | undefined;
    for await (const chunk of await bound.stream("Weather in Paris?")) full = full ? full.concat(chunk) : chunk;
    expect(full!.content).toBe("");
    expect(full!.tool_calls).toHaveLength(1);
    expect(full!.tool_calls![0]).toMatchObject({ name: "get_weather", args: { city: "Paris" } });
  });
});

describe("request ids of streams", () => {
  it("openai: request_id is set for a streamed chat, as for a plain one", async () => {
    const plain = await client.chat.completions.create({ model: "fixture", messages: question, max_tokens: 3 }).withResponse();
    expect(plain.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const streamed = await client.chat.completions.create({ model: "fixture", messages: question, max_tokens: 3, stream: true }).withResponse();
    expect(streamed.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(streamed.request_id).not.toBe(plain.request_id);
    let text = "";
    for await (const chunk of streamed.data) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("The quick brown");
  });

  it("an NDJSON (Ollama) stream has x-request-id too", async () => {
    const response = await fetch(`${server.url}/api/chat`, { method: "POST", body: JSON.stringify({ model: "fixture", messages: question, options: { num_predict: 2 } }) });
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    await response.text();
  });
});

describe("edge cases of the openai client", () => {
  it("a forced tool call cut by max_tokens comes back in tool_calls with finish_reason length", async () => {
    const full = await client.chat.completions.create({ model: "fixture", messages: question, tools, tool_choice: "required", max_tokens: 80, temperature: 0 });
    const cutAt = full.usage!.completion_tokens - 3;
    const cut = await client.chat.completions.create({ model: "fixture", messages: question, tools, tool_choice: "required", max_tokens: cutAt, temperature: 0 });
    const choice = cut.choices[0]!;
    expect(choice.finish_reason).toBe("length");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    const partial = call.function.arguments.replace(/\s/g, "");
    expect(partial.length).toBeGreaterThan(0);
    expect('{"city":"Paris"}'.startsWith(partial)).toBe(true);
    expect(partial).not.toBe('{"city":"Paris"}');

    const stream = await client.chat.completions.create({ model: "fixture", messages: question, tools, tool_choice: "required", max_tokens: cutAt, temperature: 0, stream: true });
    let content = "";
    let finish: string | null = null;
    const pieces: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    for await (const chunk of stream) {
      for (const streamed of chunk.choices) {
        content += streamed.delta.content ?? "";
        pieces.push(...(streamed.delta.tool_calls ?? []));
        finish = streamed.finish_reason ?? finish;
      }
    }
    expect(content).toBe("");
    expect(finish).toBe("length");
    expect(pieces[0]!.function?.name).toBe("get_weather");
    expect(pieces.map((piece) => piece.function?.arguments ?? "").join("").replace(/\s/g, "")).toBe(partial);
  });

  it("accepts top_logprobs 0 and logprobs false", async () => {
    const completion = await client.chat.completions.create({ model: "fixture", messages: question, logprobs: false, top_logprobs: 0, temperature: 0 });
    expect(completion.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
    const refused = await client.chat.completions.create({ model: "fixture", messages: question, top_logprobs: 2 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 400, param: "top_logprobs" });
  });

  it("embeds token-id input ([1,2,3] and [[1,2,3], ...]) and refuses ids outside the vocabulary", async () => {
    const single = await client.embeddings.create({ model: "fixture", input: [5, 6, 7] });
    expect(single.data).toHaveLength(1);
    expect(single.usage.prompt_tokens).toBe(3);
    const batch = await client.embeddings.create({ model: "fixture", input: [[5, 6, 7], [8, 9]] });
    expect(batch.data.map((item) => item.index)).toEqual([0, 1]);
    expect(batch.data[0]!.embedding).toEqual(single.data[0]!.embedding);
    expect(batch.data[1]!.embedding).not.toEqual(single.data[0]!.embedding);
    expect(batch.usage.prompt_tokens).toBe(5);
    const refused = await client.embeddings.create({ model: "fixture", input: [[5, 10_000_000]] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect(refused).toMatchObject({ status: 400, param: "input[0]" });
    expect((refused as Error).message).toMatch(/not a token id of this model/);
  });
});
