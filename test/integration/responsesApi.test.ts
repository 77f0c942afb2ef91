import { copyFile } from "node:fs/promises";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FIXTURE_SENTENCE, getThinkingModelPath, THINKING_FIXTURE_ANSWER, THINKING_FIXTURE_THOUGHT } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: OpenAI;
/** The same server with another API key: it must not see the first key's responses. */
let otherClient: OpenAI;
const API_KEY = "responses-test-key";
const authorized = { authorization: `Bearer ${API_KEY}` };

beforeAll(async () => {
  server = await startTestServer({ apiKeys: [API_KEY, "another-key"] });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  otherClient = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "another-key", maxRetries: 0 });
});
afterAll(() => server?.dispose());

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "get_weather",
  description: "Current weather",
  parameters: { type: "object", properties: { city: { enum: ["Paris", "Tokyo"] } }, required: ["city"] },
  strict: true,
};

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail("the request should have failed"),
    (error: unknown) => error,
  );
}

describe("the Responses API with the official openai client", () => {
  it("answers a string input (stored, with usage)", async () => {
    const response = await client.responses.create({ model: "fixture", input: "Hello", temperature: 0, metadata: { topic: "fox" } });
    expect(response).toMatchObject({ object: "response", status: "completed", model: "fixture", error: null, metadata: { topic: "fox" }, store: true });
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe(FIXTURE_SENTENCE);
    expect(response.output).toHaveLength(1);
    expect(response.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: FIXTURE_SENTENCE }] });
    expect(response.output[0]!.id).toMatch(/^msg_/);
    expect(response.usage).toMatchObject({ output_tokens: 10, output_tokens_details: { reasoning_tokens: 0 } });
    expect(response.usage!.total_tokens).toBe(response.usage!.input_tokens + 10);
    expect(typeof response.usage!.input_tokens_details.cached_tokens).toBe("number");
    expect(await client.responses.retrieve(response.id)).toMatchObject({ id: response.id, output: response.output });
  });

  it("streams the documented event sequence, numbered, ending with the stored response", async () => {
    const stream = client.responses.stream({ model: "fixture", input: "Hello", instructions: "Be brief.", temperature: 0 });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    // The client adds output_text to created responses only.
    expect(final.output[0]).toMatchObject({ type: "message", status: "completed", content: [{ type: "output_text", text: FIXTURE_SENTENCE }] });
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    const types = events.map((event) => event.type).filter((type, index, all) => type !== "response.output_text.delta" || all[index - 1] !== type);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const deltas = events.filter((event) => event.type === "response.output_text.delta");
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.map((event) => event.delta).join("")).toBe(FIXTURE_SENTENCE);
    expect(events[0]).toMatchObject({ type: "response.created", response: { id: final.id, status: "in_progress" } });
    expect((await client.responses.retrieve(final.id)).output_text).toBe(FIXTURE_SENTENCE);
  });

  it("names each server-sent event by its type", async () => {
    const reply = await fetch(`${server.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", ...authorized },
      body: JSON.stringify({ model: "fixture", input: "Hello", stream: true, temperature: 0 }),
    });
    expect(reply.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = (await reply.text()).trim().split("\n\n");
    for (const frame of frames) {
      const [eventLine, dataLine] = frame.split("\n");
      const data = JSON.parse(dataLine!.replace(/^data: /, "")) as { type: string; response?: { output: unknown[] } };
      expect(eventLine).toBe(`event: ${data.type}`);
    }
    const created = JSON.parse(frames[0]!.split("\n")[1]!.replace(/^data: /, "")) as { response: { output: unknown[] } };
    expect(created.response.output).toEqual([]);
  });

  it("continues a conversation with previous_response_id (the earlier turn is in the prompt)", async () => {
    const first = await client.responses.create({ model: "fixture", input: "Hello", temperature: 0 });
    // The model may be left out: the previous response's serves.
    const second = await client.responses.create({ previous_response_id: first.id, input: [{ role: "user", content: "Again" }], temperature: 0 });
    expect(second).toMatchObject({ previous_response_id: first.id, model: "fixture" });
    expect(second.output_text).toBe(FIXTURE_SENTENCE);
    // The second prompt holds the first question and answer: it is longer by more than "Again".
    expect(second.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens + 10);
    // ...and the engine's prefix-aware sequences reuse the first turn's evaluated prompt.
    expect(second.usage!.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(first.usage!.input_tokens);
    const items = await client.responses.inputItems.list(second.id, { order: "asc" });
    expect(items.data.map((item) => item.type === "message" && item.role)).toEqual(["user", "assistant", "user"]);
    expect(items.data[1]).toMatchObject({ id: first.output[0]!.id, content: [{ type: "output_text", text: FIXTURE_SENTENCE }] });
    expect(items.data[2]).toMatchObject({ type: "message", content: [{ type: "input_text", text: "Again" }] });
    // Newest first by default, paged with limit and after.
    const page = (await fetch(`${server.url}/v1/responses/${second.id}/input_items?limit=2`, { headers: authorized }).then((reply) => reply.json())) as { last_id: string };
    expect(page).toMatchObject({ object: "list", first_id: items.data[2]!.id, last_id: items.data[1]!.id, has_more: true });
    const rest = await fetch(`${server.url}/v1/responses/${second.id}/input_items?limit=2&after=${page.last_id}`, { headers: authorized }).then((reply) => reply.json());
    expect(rest).toMatchObject({ data: [{ id: items.data[0]!.id }], has_more: false });
  });

  it("counts input tokens exactly as a response would use them (responses.inputTokens.count)", async () => {
    const request = { model: "fixture", instructions: "Be brief.", input: "Hello", tools: [weatherTool] };
    const counted = await client.responses.inputTokens.count(request);
    expect(counted).toEqual({ object: "response.input_tokens", input_tokens: expect.any(Number) });
    const created = await client.responses.create({ ...request, temperature: 0 });
    expect(counted.input_tokens).toBe(created.usage!.input_tokens);
    // A continuation counts the earlier turns too; an unknown one is the same 404 as create's.
    const next = await client.responses.inputTokens.count({ previous_response_id: created.id, input: "Again" });
    const continued = await client.responses.create({ previous_response_id: created.id, input: "Again", temperature: 0 });
    expect(next.input_tokens).toBe(continued.usage!.input_tokens);
    expect(next.input_tokens).toBeGreaterThan((await client.responses.inputTokens.count({ model: "fixture", input: "Again" })).input_tokens);
    const missing = (await failureOf(client.responses.inputTokens.count({ previous_response_id: "resp_missing", input: "x" }))) as InstanceType<typeof OpenAI.APIError>;
    expect(missing.status).toBe(404);
    expect(missing.code).toBe("previous_response_not_found");
  });

  it("round-trips a function call: function_call item, then function_call_output on the same conversation", async () => {
    const call = await client.responses.create({
      model: "fixture",
      input: "Weather in Paris?",
      tools: [weatherTool],
      tool_choice: { type: "function", name: "get_weather" },
      max_output_tokens: 80,
    });
    const item = call.output.find((output) => output.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(item).toMatchObject({ type: "function_call", name: "get_weather", status: "completed" });
    expect(item.id).toMatch(/^fc_/);
    expect(["Paris", "Tokyo"]).toContain((JSON.parse(item.arguments) as { city: string }).city);
    const answer = await client.responses.create({
      model: "fixture",
      previous_response_id: call.id,
      input: [{ type: "function_call_output", call_id: item.call_id, output: '{"temperature": 21}' }],
      tools: [weatherTool],
      temperature: 0,
    });
    expect(answer.output_text).toBe(FIXTURE_SENTENCE);
    const items = await client.responses.inputItems.list(answer.id, { order: "asc" });
    expect(items.data.map((input) => input.type)).toEqual(["message", "function_call", "function_call_output"]);
  });

  it("streams a function call with its argument events", async () => {
    const stream = client.responses.stream({ model: "fixture", input: "Weather?", tools: [weatherTool], tool_choice: "required", max_output_tokens: 80 });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    const final = await stream.finalResponse();
    const call = final.output.find((output) => output.type === "function_call") as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call.name).toBe("get_weather");
    expect(types).toEqual(
      expect.arrayContaining(["response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.completed"]),
    );
    expect(types.at(-1)).toBe("response.completed");
  });

  it("constrains the text with text.format json_schema", async () => {
    const response = await client.responses.create({
      model: "fixture",
      input: "Describe the animal",
      max_output_tokens: 60,
      text: {
        format: {
          type: "json_schema",
          name: "animal",
          schema: { type: "object", properties: { animal: { enum: ["fox", "dog"] }, quick: { type: "boolean" } }, required: ["animal", "quick"] },
        },
      },
    });
    const parsed = JSON.parse(response.output_text) as { animal: string; quick: boolean };
    expect(["fox", "dog"]).toContain(parsed.animal);
    expect(typeof parsed.quick).toBe("boolean");
    expect(response.text?.format).toMatchObject({ type: "json_schema", name: "animal" });
  });

  it("accepts reasoning.effort for a model without thinking (no reasoning item)", async () => {
    const response = await client.responses.create({ model: "fixture", input: "Hello", temperature: 0, reasoning: { effort: "low" } });
    expect(response.output.map((item) => item.type)).toEqual(["message"]);
    expect(response.output_text).toBe(FIXTURE_SENTENCE);
  });

  it("reports max_output_tokens as an incomplete response", async () => {
    const response = await client.responses.create({ model: "fixture", input: "Hello", max_output_tokens: 3, temperature: 0 });
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output_text: "The quick brown" });
  });

  it("deletes a stored response, and does not keep one with store: false", async () => {
    const response = await client.responses.create({ model: "fixture", input: "Hello" });
    const deleted = await fetch(`${server.url}/v1/responses/${response.id}`, { method: "DELETE", headers: authorized });
    expect(await deleted.json()).toEqual({ id: response.id, object: "response", deleted: true });
    expect(await failureOf(client.responses.retrieve(response.id))).toMatchObject({ status: 404, code: "not_found" });
    expect(await failureOf(client.responses.delete(response.id))).toBeInstanceOf(OpenAI.NotFoundError);
    const unstored = await client.responses.create({ model: "fixture", input: "Hello", store: false });
    expect(unstored).toMatchObject({ store: false });
    expect(await failureOf(client.responses.retrieve(unstored.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failureOf(client.responses.inputItems.list(unstored.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("shows a stored response only to the API key that made it", async () => {
    const response = await client.responses.create({ model: "fixture", input: "Hello" });
    expect(await failureOf(otherClient.responses.retrieve(response.id))).toMatchObject({ status: 404, code: "not_found" });
    expect(await failureOf(otherClient.responses.inputItems.list(response.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await failureOf(otherClient.responses.create({ model: "fixture", previous_response_id: response.id, input: "Again" }))).toMatchObject({
      status: 404,
      code: "previous_response_not_found",
    });
    expect(await failureOf(otherClient.responses.delete(response.id))).toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);
  });

  it("answers 404 for an unknown previous_response_id", async () => {
    const error = await failureOf(client.responses.create({ model: "fixture", previous_response_id: "resp_unknown", input: "Hello" }));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "previous_response_not_found", param: "previous_response_id" });
  });

  it.each([
    ["tools[0].type", { tools: [{ type: "web_search" }] }],
    ["tools[1].type", { tools: [weatherTool, { type: "file_search", vector_store_ids: ["vs_1"] }] }],
    ["tools[0].type", { tools: [{ type: "code_interpreter", container: { type: "auto" } }] }],
    ["background", { background: true }],
    ["include", { include: ["reasoning.encrypted_content"] }],
    ["reasoning.summary", { reasoning: { effort: "low", summary: "auto" } }],
    ["tool_choice", { tool_choice: { type: "web_search_preview" } }],
    ["tool_choice", { tool_choice: "required" }],
  ])("refuses what it cannot honour with a 400 naming %s", async (param, fields) => {
    const error = await failureOf(client.responses.create({ model: "fixture", input: "Hello", ...fields } as OpenAI.Responses.ResponseCreateParamsNonStreaming));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param, code: "unsupported_parameter", type: "invalid_request_error" });
  });

  it("refuses image input parts and malformed items with a 400 naming the parameter", async () => {
    const image = await failureOf(
      client.responses.create({ model: "fixture", input: [{ role: "user", content: [{ type: "input_image", image_url: "https://example.com/x.png", detail: "auto" }] }] }),
    );
    expect(image).toMatchObject({ status: 400, param: "input[0].content[0]" });
    expect((image as Error).message).toMatch(/images/);
    const item = await failureOf(client.responses.create({ model: "fixture", input: [{ type: "function_call_output", output: "x" } as never] }));
    expect(item).toMatchObject({ status: 400, param: "input[0].call_id" });
  });
});

describe("the Responses API with a thinking model", () => {
  beforeAll(async () => {
    // The models folder is watched: the copied file joins the library.
    await copyFile(await getThinkingModelPath(), path.join(server.modelsDir, "thinking.gguf"));
    await vi.waitFor(async () => expect((await client.models.list()).data.map((model) => model.id)).toContain("thinking"), { timeout: 30_000, interval: 50 });
  });

  it("puts the thought in a reasoning item before the message, with reasoning_tokens", async () => {
    const response = await client.responses.create({ model: "thinking", input: "Hello", temperature: 0, reasoning: { effort: "high" } });
    expect(response.output.map((item) => item.type)).toEqual(["reasoning", "message"]);
    expect(response.output[0]).toMatchObject({ summary: [], content: [{ type: "reasoning_text", text: THINKING_FIXTURE_THOUGHT }] });
    expect(response.output[0]!.id).toMatch(/^rs_/);
    expect(response.output_text).toBe(THINKING_FIXTURE_ANSWER);
    expect(response.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
    expect(response.reasoning).toMatchObject({ effort: "high" });
  });

  it("streams reasoning_text deltas, then the answer", async () => {
    const stream = client.responses.stream({ model: "thinking", input: "Hello", temperature: 0 });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const thought = events.flatMap((event) => (event.type === "response.reasoning_text.delta" ? [event.delta] : [])).join("");
    const answer = events.flatMap((event) => (event.type === "response.output_text.delta" ? [event.delta] : [])).join("");
    expect(thought).toBe(THINKING_FIXTURE_THOUGHT);
    expect(answer).toBe(THINKING_FIXTURE_ANSWER);
    const firstAnswer = events.findIndex((event) => event.type === "response.output_text.delta");
    expect(events.findIndex((event) => event.type === "response.reasoning_text.done")).toBeLessThan(firstAnswer);
    expect(events.at(-1)?.type).toBe("response.completed");
  });

  it("answers without thinking for reasoning.effort none", async () => {
    const response = await client.responses.create({ model: "thinking", input: "Hello", temperature: 0, reasoning: { effort: "none" } });
    expect(response.output.map((item) => item.type)).toEqual(["message"]);
    expect(response.output_text).toBe(THINKING_FIXTURE_ANSWER);
  });
});
