import Anthropic from "@anthropic-ai/sdk";
import { copyFileSync } from "node:fs";
import path from "node:path";
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  THINKING_FIXTURE_ANSWER,
  THINKING_FIXTURE_REASONING_TOKENS,
  THINKING_FIXTURE_REPLY_TOKENS,
  THINKING_FIXTURE_THOUGHT,
  getThinkingModelPath,
} from "../fixtures/gguf/index.js";
import { parseRouterConfig } from "../../src/core/router/routerConfig.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/**
 * Thinking apart from the answer, end to end (model host process, router, response cache,
 * HTTP dialects), on the thinking fixture: greedy output `<think>Let me think.</think>\n\n`
 * then the fixture sentence.
 */
let server: TestServer;
let openai: OpenAI;
let ollama: Ollama;
const model = "thinking";
const hello = [{ role: "user" as const, content: "Hello" }];
/** The answer's tokens (the reply's are the thinking's, its closing `</think>` "\n\n" included, and these). */
const ANSWER_TOKENS = THINKING_FIXTURE_REPLY_TOKENS - THINKING_FIXTURE_REASONING_TOKENS;

/** Fields of ours (and llama-server's/vLLM's) that the openai package's types do not know. */
type WithReasoning<T> = T & { reasoning_content?: string };

beforeAll(async () => {
  server = await startTestServer({ withFixture: false });
  copyFileSync(await getThinkingModelPath(), path.join(server.modelsDir, `${model}.gguf`));
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
  ollama = new Ollama({ host: server.url });
});
afterAll(() => server?.dispose());

describe("chat completions (openai package)", () => {
  it("returns the thinking as message.reasoning_content and counts its tokens", async () => {
    const completion = await openai.chat.completions.create({ model, messages: hello, temperature: 0, cache: false } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
    expect(message.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(THINKING_FIXTURE_REASONING_TOKENS);
    expect(completion.usage?.completion_tokens).toBe(THINKING_FIXTURE_REPLY_TOKENS);
  });

  it("streams delta.reasoning_content before the answer's deltas", async () => {
    const stream = await openai.chat.completions.create({
      model,
      messages: hello,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      cache: false,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    const order: ("reasoning" | "content")[] = [];
    let reasoning = "";
    let content = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta as WithReasoning<OpenAI.ChatCompletionChunk.Choice.Delta> | undefined;
      if (delta?.reasoning_content) {
        reasoning += delta.reasoning_content;
        order.push("reasoning");
      }
      if (delta?.content) {
        content += delta.content;
        order.push("content");
      }
    }
    expect(reasoning).toBe(THINKING_FIXTURE_THOUGHT);
    expect(content).toBe(THINKING_FIXTURE_ANSWER);
    expect(order.indexOf("content")).toBe(order.lastIndexOf("reasoning") + 1);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(THINKING_FIXTURE_REASONING_TOKENS);
  });

  it("a follow-up turn thinks again (the earlier answer goes back without its thought)", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [...hello, { role: "assistant", content: THINKING_FIXTURE_ANSWER }, { role: "user", content: "Again" }];
    const completion = await openai.chat.completions.create({ model, messages, temperature: 0 });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
  });

  it('reasoning_effort "none": no thinking, the answer at once', async () => {
    const completion = await openai.chat.completions.create({ model, messages: hello, temperature: 0, reasoning_effort: "none" as OpenAI.ReasoningEffort });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
    expect(message.reasoning_content).toBeUndefined();
    expect(completion.usage?.completion_tokens_details).toBeUndefined();
    expect(completion.usage?.completion_tokens).toBe(ANSWER_TOKENS);
  });

  it("a small thinking budget cuts the thought, and the answer still comes", async () => {
    const completion = await openai.chat.completions.create({
      model,
      messages: hello,
      temperature: 0,
      reasoning: { max_tokens: 1 },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe("Let");
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
    // The one thought token and the two that close the thought.
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(3);
  });

  it("max_tokens counts the thinking too: cut while thinking, finish_reason length", async () => {
    const completion = await openai.chat.completions.create({ model, messages: hello, temperature: 0, max_tokens: 2 });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe("Let me");
    expect(message.content).toBe("");
    expect(completion.choices[0]!.finish_reason).toBe("length");
  });

  it("refuses an unknown reasoning_effort with a 400", async () => {
    const error = await openai.chat.completions
      .create({ model, messages: hello, reasoning_effort: "extreme" as OpenAI.ReasoningEffort })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("stop strings end the answer, not the thought", async () => {
    const completion = await openai.chat.completions.create({ model, messages: hello, temperature: 0, stop: ["fox"] });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(message.content).toBe("The quick brown ");
    expect(completion.choices[0]!.finish_reason).toBe("stop");

    // "me" is only in the thought ("Let me think."): it does not end the reply.
    const thoughtOnly = await openai.chat.completions.create({ model, messages: hello, temperature: 0, stop: ["me"] });
    const whole = thoughtOnly.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(whole.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(whole.content).toBe(THINKING_FIXTURE_ANSWER);
  });

  it("a JSON schema shapes the answer (the model answers without thinking)", async () => {
    const completion = await openai.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Describe the animal" }],
      max_tokens: 60,
      temperature: 0,
      response_format: {
        type: "json_schema",
        json_schema: { name: "animal", schema: { type: "object", properties: { animal: { enum: ["fox", "dog"] } }, required: ["animal"] } },
      },
    });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(["fox", "dog"]).toContain((JSON.parse(message.content!) as { animal: string }).animal);
    expect(message.reasoning_content).toBeUndefined();
  });

  it("tools the model may call (auto): it still thinks, then answers", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const completion = await openai.chat.completions.create({ model, messages: hello, temperature: 0, tools });
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
    // A forced call is made at once, without thinking (its grammar must shape the call).
    const forced = await openai.chat.completions.create({ model, messages: hello, temperature: 0, max_tokens: 40, tools, tool_choice: "required" });
    const call = forced.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === "function" ? call.function.name : undefined).toBe("get_weather");
    expect((forced.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>).reasoning_content).toBeUndefined();
  });

  it("a cached answer keeps its thinking", async () => {
    const request = { model, messages: [{ role: "user" as const, content: "Cache me" }], temperature: 0, stream: true as const };
    const read = async () => {
      const { data: stream, response } = await openai.chat.completions.create(request).withResponse();
      let reasoning = "";
      let content = "";
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta as WithReasoning<OpenAI.ChatCompletionChunk.Choice.Delta> | undefined;
        reasoning += delta?.reasoning_content ?? "";
        content += delta?.content ?? "";
      }
      return { cache: response.headers.get("x-marduk-cache"), reasoning, content };
    };
    expect(await read()).toEqual({ cache: "miss", reasoning: THINKING_FIXTURE_THOUGHT, content: THINKING_FIXTURE_ANSWER });
    expect(await read()).toEqual({ cache: "hit", reasoning: THINKING_FIXTURE_THOUGHT, content: THINKING_FIXTURE_ANSWER });
  });
});

describe("Ollama dialect (ollama package)", () => {
  it("think true: message.thinking apart from the content", async () => {
    const response = await ollama.chat({ model, messages: hello, think: true, options: { temperature: 0 } });
    expect(response.message.thinking).toBe(THINKING_FIXTURE_THOUGHT);
    expect(response.message.content).toBe(THINKING_FIXTURE_ANSWER);
    expect(response.eval_count).toBe(THINKING_FIXTURE_REPLY_TOKENS);
  });

  it("think false: no thinking", async () => {
    const response = await ollama.chat({ model, messages: hello, think: false, options: { temperature: 0 } });
    expect(response.message.thinking).toBeUndefined();
    expect(response.message.content).toBe(THINKING_FIXTURE_ANSWER);
  });

  it("streams thinking chunks, then content chunks", async () => {
    const stream = await ollama.chat({ model, messages: hello, think: "low", stream: true, options: { temperature: 0 } });
    let thinking = "";
    let content = "";
    for await (const part of stream) {
      if (part.message.thinking) expect(content).toBe("");
      thinking += part.message.thinking ?? "";
      content += part.message.content;
    }
    expect(thinking).toBe(THINKING_FIXTURE_THOUGHT);
    expect(content).toBe(THINKING_FIXTURE_ANSWER);
  });

  it('/api/show lists the "thinking" capability', async () => {
    const show = await ollama.show({ model });
    expect(show.capabilities).toContain("thinking");
  });

  it("/api/generate returns thinking too", async () => {
    const response = await ollama.generate({ model, prompt: "Hello", think: true, options: { temperature: 0 } });
    expect(response.thinking).toBe(THINKING_FIXTURE_THOUGHT);
    expect(response.response).toBe(THINKING_FIXTURE_ANSWER);
    const off = await ollama.generate({ model, prompt: "Hello", think: false, options: { temperature: 0 } });
    expect(off.thinking).toBeUndefined();
    expect(off.response).toBe(THINKING_FIXTURE_ANSWER);
  });
});

describe("Responses and Anthropic Messages (their official packages)", () => {
  it("responses: reasoning.effort gives a reasoning item before the message", async () => {
    const response = await openai.responses.create({ model, input: "Hello", temperature: 0, reasoning: { effort: "low" } });
    expect(response.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(response.output[0]).toMatchObject({ content: [{ type: "reasoning_text", text: THINKING_FIXTURE_THOUGHT }] });
    expect(response.output_text).toBe(THINKING_FIXTURE_ANSWER);
    expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(THINKING_FIXTURE_REASONING_TOKENS);
  });

  it("messages: thinking enabled gives a thinking block before the text", async () => {
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
    const message = await anthropic.messages.create({
      model,
      max_tokens: 200,
      messages: hello,
      thinking: { type: "enabled", budget_tokens: 64 },
    });
    expect(message.content.map((block) => block.type)).toEqual(["thinking", "text"]);
    expect(message.content[0]).toMatchObject({ type: "thinking", thinking: THINKING_FIXTURE_THOUGHT });
    expect(message.content[1]).toMatchObject({ type: "text", text: THINKING_FIXTURE_ANSWER });
  });
});

describe("through the router to an OpenAI-compatible upstream", () => {
  let front: TestServer;
  beforeAll(async () => {
    const routing = parseRouterConfig({ providers: [{ id: "thinker", baseUrl: `${server.url}/v1`, models: [model] }], router: { healthIntervalMs: 0 } });
    front = await startTestServer({ withFixture: false, coreOptions: { routing } });
  });
  afterAll(() => front?.dispose());

  it("maps the upstream's reasoning_content deltas and reasoning tokens to reasoning", async () => {
    const client = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const { data: completion, response } = await client.chat.completions
      .create({ model, messages: hello, temperature: 0, cache: false } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(response.headers.get("x-marduk-provider")).toBe("thinker");
    const message = completion.choices[0]!.message as WithReasoning<OpenAI.ChatCompletionMessage>;
    expect(message.reasoning_content).toBe(THINKING_FIXTURE_THOUGHT);
    expect(message.content).toBe(THINKING_FIXTURE_ANSWER);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(THINKING_FIXTURE_REASONING_TOKENS);
  });
});
