import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { GenerationResult } from "../../src/shared/api/generation.js";
import { ResponseOutputBuilder } from "../../src/core/api/responses/ResponseOutputBuilder.js";
import { responseRequestSchema } from "../../src/core/api/responses/responseRequestSchema.js";
import { responseStreamFraming } from "../../src/core/api/responses/responseStreamFraming.js";
import { toChatTurn } from "../../src/core/api/responses/toChatTurn.js";
import { REASONING_EFFORT_BUDGETS } from "../../src/core/api/reasoningEffort.js";
import { parseBody } from "../../src/core/api/validation.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ResponseStore } from "../../src/core/storage/ResponseStore.js";

const request = (body: Record<string, unknown>) => parseBody(responseRequestSchema, { model: "m", ...body });

const result = (fields: Partial<GenerationResult>): GenerationResult => ({
  text: "",
  finishReason: "stop",
  usage: { promptTokens: 5, completionTokens: 3 },
  timings: { promptMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 1 },
  ...fields,
});

describe("toChatTurn (Responses input → the door's messages and options)", () => {
  it("turns instructions, roles, function calls and their outputs into chat messages", () => {
    const turn = toChatTurn(
      request({
        instructions: "Be brief.",
        input: [
          { role: "developer", content: "Really." },
          { type: "message", role: "user", content: [{ type: "input_text", text: "Weather " }, { type: "input_text", text: "in Paris?" }] },
          { type: "reasoning", id: "rs_1", summary: [] },
          { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { type: "function_call", call_id: "call_2", name: "get_weather", arguments: '{"city":"Tokyo"}' },
          { type: "function_call_output", call_id: "call_1", output: "21" },
          { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "25" }] },
        ],
      }),
    );
    expect(turn.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "system", content: "Really." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
          { id: "call_2", name: "get_weather", arguments: '{"city":"Tokyo"}' },
        ],
      },
      { role: "tool", content: "21", toolCallId: "call_1" },
      { role: "tool", content: "25", toolCallId: "call_2" },
    ]);
    // Every stored item has an id of its kind; the reasoning item is kept but not prompted.
    expect(turn.inputItems.map((item) => String(item.id).split("_")[0])).toEqual(["msg", "msg", "rs", "fc", "fc", "fco", "fco"]);
  });

  it("continues after a history of items (the previous response's input and output)", () => {
    const history = [
      { type: "message", id: "msg_a", role: "user", content: [{ type: "input_text", text: "Hello" }] },
      { type: "message", id: "msg_b", role: "assistant", status: "completed", content: [{ type: "output_text", text: "Hi!", annotations: [] }] },
    ];
    const turn = toChatTurn(request({ input: "Again" }), history);
    expect(turn.messages).toEqual([
      { role: "user", content: "Hello" },
      { role: "assistant", content: "Hi!" },
      { role: "user", content: "Again" },
    ]);
    expect(turn.inputItems.slice(0, 2)).toEqual(history);
  });

  it("maps sampling, text.format, tools, tool_choice and reasoning.effort to the door's options", () => {
    const tools = [{ type: "function", name: "f", description: "d", parameters: { type: "object" } }];
    const { options } = toChatTurn(
      request({
        input: "x",
        temperature: 0,
        top_p: 0.5,
        max_output_tokens: 7,
        text: { format: { type: "json_schema", name: "s", schema: { type: "object" } } },
        tools,
        tool_choice: { type: "function", name: "f" },
        reasoning: { effort: "low" },
      }),
    );
    expect(options).toEqual({
      temperature: 0,
      topP: 0.5,
      maxTokens: 7,
      responseFormat: { type: "json_schema", schema: { type: "object" }, name: "s" },
      tools: [{ name: "f", description: "d", parameters: { type: "object" } }],
      toolChoice: { name: "f" },
      reasoning: REASONING_EFFORT_BUDGETS.low,
    });
    expect(toChatTurn(request({ input: "x", reasoning: { effort: "none" } })).options.reasoning).toEqual({ enabled: false });
    expect(toChatTurn(request({ input: "x", text: { format: { type: "json_object" } } })).options.responseFormat).toEqual({ type: "json_object" });
    expect(() => toChatTurn(request({ input: "x", tools, tool_choice: { type: "function", name: "g" } }))).toThrow(/not in 'tools'/);
  });

  it("refuses an input with nothing to answer", () => {
    expect(() => toChatTurn(request({ input: [], instructions: "Be brief." }))).toThrow(/at least one/);
  });
});

describe("ResponseOutputBuilder", () => {
  it("streams thinking as a reasoning item before the message, and calls after it", () => {
    const builder = new ResponseOutputBuilder();
    const events = [
      ...builder.delta({ text: "", reasoning: "Let me " }),
      ...builder.delta({ text: "", reasoning: "think." }),
      ...builder.delta({ text: "Hi" }),
      ...builder.finish(result({ text: "Hi", reasoning: "Let me think.", finishReason: "tool_calls", toolCalls: [{ id: "call_1", name: "f", arguments: "{}" }] })),
    ];
    expect(events.map((event) => event.type)).toEqual([
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
    ]);
    expect(builder.output).toMatchObject([
      { type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "Let me think." }] },
      { type: "message", status: "completed", content: [{ type: "output_text", text: "Hi" }] },
      { type: "function_call", call_id: "call_1", name: "f", arguments: "{}", status: "completed" },
    ]);
    expect(String(builder.output[0]!.id)).toMatch(/^rs_/);
    expect(events[0]).toMatchObject({ output_index: 0, item: { type: "reasoning", content: [] } });
    expect(events[13]).toMatchObject({ output_index: 2, item: { type: "function_call", arguments: "", status: "in_progress" } });
  });

  it("keeps one call of several for parallel_tool_calls: false", () => {
    const toolCalls = [
      { id: "call_1", name: "f", arguments: "{}" },
      { id: "call_2", name: "g", arguments: "{}" },
    ];
    const single = new ResponseOutputBuilder(false);
    single.finish(result({ finishReason: "tool_calls", toolCalls }));
    expect(single.output).toMatchObject([{ type: "function_call", call_id: "call_1" }]);
    const parallel = new ResponseOutputBuilder();
    parallel.finish(result({ finishReason: "tool_calls", toolCalls }));
    expect(parallel.output).toHaveLength(2);
  });

  it("always answers with a message when there is no call (empty, or cut short)", () => {
    const empty = new ResponseOutputBuilder();
    empty.finish(result({ text: "" }));
    expect(empty.output).toMatchObject([{ type: "message", status: "completed", content: [{ type: "output_text", text: "" }] }]);
    const cut = new ResponseOutputBuilder();
    cut.delta({ text: "The quick" });
    cut.finish(result({ text: "The quick", finishReason: "length" }));
    expect(cut.output).toMatchObject([{ type: "message", status: "incomplete" }]);
  });
});

describe("responseStreamFraming", () => {
  it("numbers every event and reports a failure as an error event and response.failed", () => {
    const builder = new ResponseOutputBuilder();
    const header = { id: "resp_1", createdAt: 1, model: "m", request: request({ input: "x" }) };
    const framing = responseStreamFraming(header, builder, () => ({}));
    const started = framing.start!() as Array<{ type: string; sequence_number: number }>;
    const delta = framing.delta({ text: "Hi", tokenCount: 1 }) as Array<{ sequence_number: number }>;
    const failed = framing.error({ status: 500, body: { error: { message: "The model crashed", type: "server_error", param: null, code: "model_crashed" } } });
    expect(started.map((event) => [event.type, event.sequence_number])).toEqual([["response.created", 0], ["response.in_progress", 1]]);
    expect(delta.map((event) => event.sequence_number)).toEqual([2, 3, 4]);
    expect(failed).toMatchObject([
      { type: "error", code: "model_crashed", message: "The model crashed", sequence_number: 5 },
      { type: "response.failed", sequence_number: 6, response: { id: "resp_1", status: "failed", error: { code: "model_crashed" }, output: [{ type: "message" }] } },
    ]);
  });
});

describe("ResponseStore", () => {
  let database: AppDatabase;
  beforeEach(() => {
    database = new AppDatabase(":memory:");
  });
  afterEach(() => {
    vi.useRealTimers();
    database.dispose();
  });

  const stored = (id: string, createdAt = Date.now()) => ({ id, conversationId: "resp_1", createdAt, response: { id, object: "response" }, inputItems: [{ id: "msg_1" }] });

  it("keeps, finds and deletes responses", () => {
    const store = new ResponseStore(database);
    store.save(stored("resp_1"));
    expect(store.get("resp_1")).toEqual(stored("resp_1", store.get("resp_1")!.createdAt));
    expect(store.remove("resp_1")).toBe(true);
    expect(store.get("resp_1")).toBeUndefined();
    expect(store.remove("resp_1")).toBe(false);
  });

  it("finds a response only for the API key that made it", () => {
    const store = new ResponseStore(database);
    store.save({ ...stored("resp_1"), ownerKeyId: "key-a" });
    expect(store.get("resp_1")).toBeUndefined();
    expect(store.get("resp_1", "key-b")).toBeUndefined();
    expect(store.get("resp_1", "key-a")?.ownerKeyId).toBe("key-a");
    expect(store.remove("resp_1", "key-b")).toBe(false);
    expect(store.remove("resp_1", "key-a")).toBe(true);
  });

  it("keeps at most maxResponses, dropping the oldest", () => {
    const store = new ResponseStore(database, { maxResponses: 2 });
    const now = Date.now();
    store.save(stored("resp_1", now - 3));
    store.save(stored("resp_2", now - 2));
    store.save(stored("resp_3", now - 1));
    expect([store.get("resp_1"), store.get("resp_2"), store.get("resp_3")].map((found) => found?.id)).toEqual([undefined, "resp_2", "resp_3"]);
  });

  it("forgets responses older than maxAgeMs", () => {
    const store = new ResponseStore(database, { maxAgeMs: 1000 });
    store.save(stored("resp_old", Date.now() - 5000));
    store.save(stored("resp_new"));
    expect(store.get("resp_old")).toBeUndefined();
    vi.useFakeTimers({ now: Date.now() + 2000 });
    expect(store.get("resp_new")).toBeUndefined();
  });
});
