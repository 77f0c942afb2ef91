/** The fake OpenAI-compatible upstream, driven by the official `openai` client over loopback. */
import OpenAI, { APIConnectionError, APIUserAbortError, AuthenticationError, InternalServerError, NotFoundError, RateLimitError } from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EMBEDDING_DIMENSIONS, FakeUpstream, embeddingOf, type FakeUpstreamOptions } from "../fixtures/fakeUpstream/index.js";

const REPLY_WORDS = ["Hello", " from", " the", " fake", " upstream."];

let upstream: FakeUpstream | undefined;

async function startUpstream(options?: FakeUpstreamOptions): Promise<FakeUpstream> {
  upstream = await FakeUpstream.start(options);
  return upstream;
}

function clientOf(target: FakeUpstream, apiKey = "x"): OpenAI {
  return new OpenAI({ baseURL: target.url, apiKey, maxRetries: 0 });
}

/** Iterates a stream to its end or its first error, keeping what arrived before. */
async function drain<T>(stream: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of stream) items.push(item);
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}

const chatRequest = { model: "fake-model", messages: [{ role: "user" as const, content: "Say hello please" }] };

afterEach(async () => {
  vi.restoreAllMocks();
  await upstream?.close();
  upstream = undefined;
});

describe("FakeUpstream answers like an OpenAI server", () => {
  it("answers a chat completion with the reply, usage and its name", async () => {
    const target = await startUpstream({ name: "alpha" });
    const { data, response } = await clientOf(target)
      .chat.completions.create({ model: "fake-model", messages: [{ role: "system", content: "Be brief." }, ...chatRequest.messages] })
      .withResponse();
    expect(response.headers.get("x-upstream-name")).toBe("alpha");
    expect(data.object).toBe("chat.completion");
    expect(data.model).toBe("fake-model");
    expect(data.id).toContain("alpha");
    expect(data.system_fingerprint).toBe("alpha");
    expect(data.choices[0]?.message).toMatchObject({ role: "assistant", content: "Hello from the fake upstream." });
    expect(data.choices[0]?.finish_reason).toBe("stop");
    expect(data.usage).toEqual({ prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 });
  });

  it("truncates to max_tokens words with finish_reason length", async () => {
    const target = await startUpstream();
    const completion = await clientOf(target).chat.completions.create({ ...chatRequest, max_tokens: 2 });
    expect(completion.choices[0]?.message.content).toBe("Hello from");
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it("streams a role chunk, one chunk per word, the finish reason and usage", async () => {
    const target = await startUpstream();
    const stream = await clientOf(target).chat.completions.create({ ...chatRequest, stream: true, stream_options: { include_usage: true } });
    const { items: chunks, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    const words = chunks.slice(1, 1 + REPLY_WORDS.length).map((chunk) => chunk.choices[0]?.delta.content);
    expect(words).toEqual(REPLY_WORDS);
    expect(chunks[1 + REPLY_WORDS.length]?.choices[0]?.finish_reason).toBe("stop");
    const usageChunk = chunks.at(-1);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    expect(chunks).toHaveLength(REPLY_WORDS.length + 3);
  });

  it("calls the first tool when tool_choice is required, plain and streamed", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    const tools = [
      { type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: {} } } },
      { type: "function" as const, function: { name: "get_time" } },
    ];
    const completion = await client.chat.completions.create({ ...chatRequest, tools, tool_choice: "required" });
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(completion.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: "function", function: { name: "get_weather", arguments: "{}" } });

    const stream = await client.chat.completions.create({
      ...chatRequest,
      tools,
      tool_choice: { type: "function", function: { name: "get_time" } },
      stream: true,
    });
    const { items: chunks } = await drain(stream);
    const call = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])[0];
    expect(call).toMatchObject({ index: 0, type: "function", function: { name: "get_time", arguments: "{}" } });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("lists its models and refuses unknown ones with model_not_found", async () => {
    const target = await startUpstream({ models: ["one", "two"], name: "beta" });
    const client = clientOf(target);
    const models = await client.models.list();
    expect(models.data.map((model) => [model.id, model.object, model.owned_by])).toEqual([
      ["one", "model", "beta"],
      ["two", "model", "beta"],
    ]);
    const error = await client.chat.completions.create({ ...chatRequest, model: "missing" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "model_not_found", param: "model", type: "invalid_request_error" });
  });

  it("answers text completions, plain and streamed", async () => {
    const target = await startUpstream({ reply: "one two three" });
    const client = clientOf(target);
    const completion = await client.completions.create({ model: "fake-model", prompt: "count to three" });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]).toMatchObject({ text: "one two three", finish_reason: "stop" });
    expect(completion.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });

    const stream = await client.completions.create({ model: "fake-model", prompt: "count", stream: true, max_tokens: 2 });
    const { items: chunks } = await drain(stream);
    expect(chunks.map((chunk) => chunk.choices[0]?.text)).toEqual(["one", " two", ""]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("length");
  });

  it("returns deterministic embeddings, as floats or base64", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    // Without encoding_format the client asks for base64 and decodes it itself.
    const decoded = await client.embeddings.create({ model: "fake-model", input: ["alpha", "beta gamma"] });
    const floats = await client.embeddings.create({ model: "fake-model", input: ["alpha", "beta gamma"], encoding_format: "float" });
    expect(floats.data.map((item) => item.embedding)).toEqual([embeddingOf("alpha"), embeddingOf("beta gamma")]);
    expect(floats.data[0]?.embedding).toHaveLength(EMBEDDING_DIMENSIONS);
    decoded.data.forEach((item, index) => {
      item.embedding.forEach((value, slot) => expect(value).toBeCloseTo(floats.data[index]?.embedding[slot] ?? Number.NaN, 6));
    });
    expect(floats.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(embeddingOf("alpha")).not.toEqual(embeddingOf("beta"));
  });

  it("requires the API key when one is set", async () => {
    const target = await startUpstream({ apiKey: "secret" });
    await expect(clientOf(target, "wrong").models.list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(clientOf(target, "secret").models.list()).resolves.toBeDefined();
  });
});

describe("FakeUpstream faults", () => {
  it("answers an injected 500 for the next request only, leaving /v1/models alone", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    target.setFault({ kind: "status", status: 500, message: "boom" }, { times: 1 });
    await expect(client.models.list()).resolves.toBeDefined();
    const error = await client.chat.completions.create(chatRequest).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 500, type: "server_error", error: { message: "boom" } });
    await expect(client.chat.completions.create(chatRequest)).resolves.toBeDefined();
  });

  it("answers 429 with a Retry-After header the client exposes", async () => {
    const target = await startUpstream();
    target.setFault({ kind: "status", status: 429, retryAfterSeconds: 7 });
    const error = await clientOf(target).chat.completions.create(chatRequest).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).headers.get("retry-after")).toBe("7");
    expect(error).toMatchObject({ code: "rate_limit_exceeded" });
  });

  it("applies faults to /v1/models only when asked", async () => {
    const target = await startUpstream();
    target.setFault({ kind: "status", status: 503 }, { affectModels: true, times: 2 });
    await expect(clientOf(target).models.list()).rejects.toMatchObject({ status: 503 });
    await expect(clientOf(target).completions.create({ model: "fake-model", prompt: "x" })).rejects.toMatchObject({ status: 503 });
    await expect(clientOf(target).models.list()).resolves.toBeDefined();
  });

  it("stalls after the headers until the server closes, leaving no timer behind", async () => {
    const target = await startUpstream();
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout");
    const clearTimeoutSpy = vi.spyOn(globalThis, "clearTimeout");
    const stallMs = 9_876;
    target.setFault({ kind: "stallBeforeFirstToken", ms: stallMs });
    // The client's promise settles at the response headers, which the stall sends first.
    const stream = await clientOf(target).chat.completions.create({ ...chatRequest, stream: true });
    const draining = drain(stream);
    expect(target.openRequests).toBe(1);

    const closeStarted = performance.now();
    await target.close();
    expect(performance.now() - closeStarted).toBeLessThan(500);
    const { items, error } = await draining;
    expect(items).toEqual([]);
    expect(error).toBeInstanceOf(Error);

    const stallCall = setTimeoutSpy.mock.calls.findIndex((call) => call[1] === stallMs);
    expect(stallCall).toBeGreaterThanOrEqual(0);
    expect(clearTimeoutSpy).toHaveBeenCalledWith(setTimeoutSpy.mock.results[stallCall]?.value);
  });

  it("ends a stall when the client goes away, and answers after a short one", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    target.setFault({ kind: "stallBeforeFirstToken", ms: 10_000 }, { times: 1 });
    const controller = new AbortController();
    const arrived = target.nextRequest();
    const pending = client.chat.completions.create(chatRequest, { signal: controller.signal });
    await arrived;
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await target.whenIdle();

    target.setFault({ kind: "stallBeforeFirstToken", ms: 30 }, { times: 1 });
    const started = performance.now();
    const completion = await client.chat.completions.create(chatRequest);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(completion.choices[0]?.message.content).toBe("Hello from the fake upstream.");
  });

  it("drops the connection mid-stream, which surfaces as an error during iteration", async () => {
    const target = await startUpstream();
    target.setFault({ kind: "dropMidStream", afterChunks: 2 });
    const stream = await clientOf(target).chat.completions.create({ ...chatRequest, stream: true });
    const { items: chunks, error } = await drain(stream);
    expect(error).toBeInstanceOf(Error);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content)).toEqual(["", "Hello", " from"]);
  });

  it("cuts a non-streamed answer in half", async () => {
    const target = await startUpstream();
    target.setFault({ kind: "dropMidStream", afterChunks: 0 });
    await expect(clientOf(target).chat.completions.create(chatRequest)).rejects.toBeInstanceOf(Error);
  });

  it("hangs until the client aborts", async () => {
    const target = await startUpstream();
    target.setFault({ kind: "hang" });
    const controller = new AbortController();
    const arrived = target.nextRequest();
    const pending = clientOf(target).chat.completions.create(chatRequest, { signal: controller.signal });
    expect((await arrived).route).toBe("chat");
    expect(target.openRequests).toBe(1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(APIUserAbortError);
    await target.whenIdle();
    expect(target.openRequests).toBe(0);
  });

  it("rejects invalid faults", async () => {
    const target = await startUpstream();
    expect(() => target.setFault({ kind: "status", status: 200 })).toThrow(RangeError);
    expect(() => target.setFault({ kind: "hang" }, { times: 0 })).toThrow(RangeError);
  });
});

describe("FakeUpstream bookkeeping and lifecycle", () => {
  it("counts requests by route and keeps chat bodies in order", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    const firstArrival = target.nextRequest();
    await client.chat.completions.create({ ...chatRequest, max_tokens: 3 });
    expect(await firstArrival).toMatchObject({ route: "chat", body: { model: "fake-model", max_tokens: 3 } });
    await client.chat.completions.create({ ...chatRequest, messages: [{ role: "user", content: "second" }] });
    await client.models.list();
    await client.embeddings.create({ model: "fake-model", input: "x" });
    expect(target.requests("chat")).toBe(2);
    expect(target.requests("models")).toBe(1);
    expect(target.requests("embeddings")).toBe(1);
    expect(target.requests("completions")).toBe(0);
    expect(target.requests()).toBe(4);
    expect(target.chatBodies.map((body) => (body as { messages: Array<{ content: string }> }).messages[0]?.content)).toEqual([
      "Say hello please",
      "second",
    ]);
  });

  it("goes away on close and comes back on the same port on restart", async () => {
    const target = await startUpstream();
    const client = clientOf(target);
    const { url } = target;
    await client.models.list();
    await target.close();
    await target.close();
    await expect(client.models.list()).rejects.toBeInstanceOf(APIConnectionError);
    await target.restart();
    expect(target.url).toBe(url);
    await expect(client.chat.completions.create(chatRequest)).resolves.toBeDefined();
    expect(target.requests("models")).toBe(1);
    expect(target.requests("chat")).toBe(1);
    await expect(target.restart()).rejects.toThrow(/still running/);
  });
});
