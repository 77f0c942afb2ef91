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

const hello = [{ role: "user" as const, content: "Hello" }];

describe("the official openai client", () => {
  it("lists and retrieves models", async () => {
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toContain("fixture");
    const model = await client.models.retrieve("fixture");
    expect(model).toMatchObject({ id: "fixture", object: "model", owned_by: "local" });
  });

  it("chats (loading the model just in time)", async () => {
    const completion = await client.chat.completions.create({ model: "fixture", messages: hello, temperature: 0 });
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe("fixture");
    expect(completion.choices[0]!.message).toMatchObject({ role: "assistant", content: FIXTURE_SENTENCE });
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ completion_tokens: 10 });
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + 10);
  });

  it("streams chat deltas ending with finish_reason and usage", async () => {
    const stream = await client.chat.completions.create({
      model: "fixture",
      messages: [{ role: "system", content: "Be brief." }, { role: "developer", content: "Really." }, { role: "user", content: [{ type: "text", text: "Hi" }] }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    const finishReasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      expect(chunk.object).toBe("chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        finishReasons.push(choice.finish_reason);
      }
    }
    expect(text).toBe(FIXTURE_SENTENCE);
    expect(chunks).toBeGreaterThan(10);
    expect(finishReasons.filter(Boolean)).toEqual(["stop"]);
    expect(usage?.completion_tokens).toBe(10);
  });

  it("stops at max_tokens (finish_reason length) and at stop strings", async () => {
    const short = await client.chat.completions.create({ model: "fixture", messages: hello, max_tokens: 3 });
    expect(short.choices[0]!.message.content).toBe("The quick brown");
    expect(short.choices[0]!.finish_reason).toBe("length");
    const newer = await client.chat.completions.create({ model: "fixture", messages: hello, max_completion_tokens: 2 });
    expect(newer.choices[0]!.message.content).toBe("The quick");
    const stopped = await client.chat.completions.create({ model: "fixture", messages: hello, stop: [" jumps", " lazy"] });
    expect(stopped.choices[0]!.message.content).toBe("The quick brown fox");
    expect(stopped.choices[0]!.finish_reason).toBe("stop");
  });

  it("accepts the sampling extensions", async () => {
    const completion = await client.chat.completions.create({
      model: "fixture",
      messages: hello,
      temperature: 0.7,
      top_p: 0.9,
      seed: 123,
      presence_penalty: 0,
      frequency_penalty: 0,
      // @ts-expect-error extensions the openai types do not know
      top_k: 20,
      min_p: 0.05,
      repeat_penalty: 1,
    });
    expect(completion.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
  });

  it("completes text, streaming and not", async () => {
    const completion = await client.completions.create({ model: "fixture", prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]!.text.trim()).toBe(FIXTURE_SENTENCE);
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    const stream = await client.completions.create({ model: "fixture", prompt: "Once upon a time", stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    expect(text.trim()).toBe(FIXTURE_SENTENCE);
  });

  it("embeds a string and an array (float and base64)", async () => {
    const single = await client.embeddings.create({ model: "fixture", input: "The quick brown fox" });
    expect(single.object).toBe("list");
    expect(single.data).toHaveLength(1);
    const vector = single.data[0]!.embedding;
    expect(vector.length).toBeGreaterThan(0);
    const floats = await client.embeddings.create({ model: "fixture", input: ["The quick brown fox", "lazy dog"], encoding_format: "float" });
    expect(floats.data.map((item) => item.index)).toEqual([0, 1]);
    // The client asks for base64 by default and decodes it: both encodings must agree.
    floats.data[0]!.embedding.forEach((value, index) => expect(vector[index]).toBeCloseTo(value, 5));
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("constrains output with a json_schema response format", async () => {
    const completion = await client.chat.completions.create({
      model: "fixture",
      messages: [{ role: "user", content: "Describe the animal" }],
      max_tokens: 60,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "animal",
          schema: { type: "object", properties: { animal: { enum: ["fox", "dog"] }, quick: { type: "boolean" } }, required: ["animal", "quick"] },
        },
      },
    });
    const parsed = JSON.parse(completion.choices[0]!.message.content!) as { animal: string; quick: boolean };
    expect(["fox", "dog"]).toContain(parsed.animal);
    expect(typeof parsed.quick).toBe("boolean");
    // json_object only constrains the shape: the fixture model fills a string forever, so the
    // reply is cut by max_tokens, but it is JSON from its first character (a "{" where the
    // unconstrained model would say "The").
    const object = await client.chat.completions.create({ model: "fixture", messages: hello, max_tokens: 40, temperature: 0, response_format: { type: "json_object" } });
    expect(object.choices[0]!.message.content!).toMatch(/^\{\s*"/);
    expect(object.choices[0]!.finish_reason).toBe("length");
  });

  it("calls tools: tool_calls in the message and in stream deltas", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather",
          parameters: { type: "object", properties: { city: { enum: ["Paris", "Tokyo"] } }, required: ["city"] },
        },
      },
    ];
    const request = { model: "fixture", messages: [{ role: "user" as const, content: "Weather in Paris?" }], tools, tool_choice: "required" as const, max_tokens: 80 };
    const completion = await client.chat.completions.create(request);
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const call = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe("function");
    expect(call.function.name).toBe("get_weather");
    expect(["Paris", "Tokyo"]).toContain((JSON.parse(call.function.arguments) as { city: string }).city);

    const stream = await client.chat.completions.create({ ...request, stream: true });
    const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const streamed of chunk.choices) {
        calls.push(...(streamed.delta.tool_calls ?? []));
        finish = streamed.finish_reason ?? finish;
      }
    }
    expect(finish).toBe("tool_calls");
    expect(calls[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });

    // The result goes back as a tool message and the conversation continues.
    const followUp = await client.chat.completions.create({
      model: "fixture",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: '{"temperature": 21}' },
      ],
      tools,
    });
    expect(followUp.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
  });

  it("serves 8 concurrent streams, each with the exact sentence", async () => {
    const texts = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const stream = await client.chat.completions.create({ model: "fixture", messages: hello, stream: true });
        let text = "";
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
        return text;
      }),
    );
    expect(texts).toEqual(Array.from({ length: 8 }, () => FIXTURE_SENTENCE));
  });
});

describe("errors as the openai client sees them", () => {
  it("404 model_not_found for an unknown model", async () => {
    const error = await client.chat.completions.create({ model: "nope", messages: hello }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("400 naming the parameter for bad values", async () => {
    const error = await client.chat.completions.create({ model: "fixture", messages: hello, temperature: 3 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: "temperature", type: "invalid_request_error" });
    const missing = await client.chat.completions.create({ model: "fixture" } as never).catch((caught: unknown) => caught);
    expect(missing).toMatchObject({ status: 400, param: "messages" });
    const maxTokens = await client.chat.completions.create({ model: "fixture", messages: hello, max_tokens: 0 }).catch((caught: unknown) => caught);
    expect(maxTokens).toMatchObject({ status: 400, param: "max_tokens" });
  });

  it.each([
    [{ n: 2 }, "n"],
    [{ logprobs: true }, "logprobs"],
    [{ logit_bias: { "1": 5 } }, "logit_bias"],
  ])("400 for unsupported %j", async (extra, param) => {
    const error = await client.chat.completions.create({ model: "fixture", messages: hello, ...extra }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ param, code: "unsupported_parameter" });
    expect((error as Error).message).toContain(param);
  });

  it("400 context_length_exceeded when prompt plus max_tokens do not fit", async () => {
    const error = await client.chat.completions.create({ model: "fixture", messages: hello, max_tokens: 5000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ code: "context_length_exceeded" });
  });

  it("400 for an image content part", async () => {
    const error = await client.chat.completions
      .create({ model: "fixture", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:," } }] }] })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 400 });
    expect((error as Error).message).toMatch(/text/);
  });

  it("an invalid schema is a 400 before any stream starts", async () => {
    const error = await client.chat.completions
      .create({
        model: "fixture",
        messages: hello,
        stream: true,
        response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "no-such-type" } } } } },
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
  });
});
