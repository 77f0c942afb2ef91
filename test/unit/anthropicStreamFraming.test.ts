import { MessageStream } from "@anthropic-ai/sdk/lib/MessageStream";
import type { FastifyReply } from "fastify";
import { describe, expect, it } from "vitest";
import type { GenerationDelta, GenerationResult } from "../../src/shared/api/generation.js";
import { anthropicStreamFraming, type AnthropicStreamOptions } from "../../src/core/api/anthropic/anthropicStreamFraming.js";
import { errorBodyForUrl } from "../../src/core/api/errorDialect.js";
import { openAiError } from "../../src/core/api/apiErrors.js";

const timings = { promptMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 0 };

/** Every event the framing emits for these deltas and this result. */
function frame(deltas: GenerationDelta[], result: GenerationResult, options: Partial<AnthropicStreamOptions> = {}): Array<{ type: string } & Record<string, unknown>> {
  const framing = anthropicStreamFraming({ id: "msg_test", model: "m", forcedToolUse: false, singleToolUse: false, ...options });
  return [...(framing.start?.() ?? []), ...deltas.flatMap((delta) => framing.delta(delta)), ...framing.end(result)] as Array<{ type: string } & Record<string, unknown>>;
}

/** The events as the official SDK's MessageStream accumulates them (it reads JSON lines here). */
async function finalMessageOf(events: unknown[]) {
  const body = new Blob([events.map((event) => `${JSON.stringify(event)}\n`).join("")]).stream();
  return MessageStream.fromReadableStream(body).finalMessage();
}

describe("Anthropic stream framing", () => {
  it("puts thinking first (thinking_delta, then an empty signature_delta), then the text", async () => {
    const events = frame(
      [
        { text: "", reasoning: "Let me", tokenCount: 1 },
        { text: "", reasoning: " think.", tokenCount: 1 },
        { text: "The", tokenCount: 1 },
        { text: " fox.", tokenCount: 1 },
      ],
      { text: "The fox.", reasoning: "Let me think.", finishReason: "stop", usage: { promptTokens: 7, completionTokens: 4, cachedPromptTokens: 3 }, timings },
    );
    expect(events.map((event) => [event.type, (event.delta as { type?: string } | undefined)?.type ?? (event.content_block as { type?: string } | undefined)?.type ?? null])).toEqual([
      ["message_start", null],
      ["ping", null],
      ["content_block_start", "thinking"],
      ["content_block_delta", "thinking_delta"],
      ["content_block_delta", "thinking_delta"],
      ["content_block_delta", "signature_delta"],
      ["content_block_stop", null],
      ["content_block_start", "text"],
      ["content_block_delta", "text_delta"],
      ["content_block_delta", "text_delta"],
      ["content_block_stop", null],
      ["message_delta", null],
      ["message_stop", null],
    ]);
    const message = await finalMessageOf(events);
    expect(message.content).toEqual([{ type: "thinking", thinking: "Let me think.", signature: "" }, expect.objectContaining({ type: "text", text: "The fox." })]);
    expect(message.stop_reason).toBe("end_turn");
    expect(message.usage).toMatchObject({ input_tokens: 4, cache_read_input_tokens: 3, output_tokens: 4 });
  });

  it("holds back a forced call's JSON and sends the call as a tool_use block; keeps one call with disable_parallel_tool_use", async () => {
    const calls = [
      { id: "call_a", name: "f", arguments: '{"x":1}' },
      { id: "call_b", name: "g", arguments: "{}" },
    ];
    const result: GenerationResult = { text: "", finishReason: "tool_calls", toolCalls: calls, usage: { promptTokens: 5, completionTokens: 6 }, timings };
    const events = frame([{ text: '{"name":"f"', tokenCount: 3 }], result, { forcedToolUse: true, singleToolUse: true });
    expect(events.some((event) => (event.delta as { type?: string } | undefined)?.type === "text_delta")).toBe(false);
    const message = await finalMessageOf(events);
    expect(message.content).toEqual([{ type: "tool_use", id: "toolu_a", name: "f", input: { x: 1 } }]);
    expect(message.stop_reason).toBe("tool_use");
  });

  it("ends a stop-sequence stop with stop_reason stop_sequence, and an empty reply with an empty text block", async () => {
    const message = await finalMessageOf(frame([], { text: "", stopSequence: "STOP", finishReason: "stop", usage: { promptTokens: 2, completionTokens: 1 }, timings }));
    expect(message.content).toEqual([expect.objectContaining({ type: "text", text: "" })]);
    expect(message).toMatchObject({ stop_reason: "stop_sequence", stop_sequence: "STOP" });
  });
});

describe("errors inside an Anthropic stream", () => {
  it("are an `error` event in Anthropic's shape", () => {
    const framing = anthropicStreamFraming({ id: "msg_test", model: "m", forcedToolUse: false, singleToolUse: false });
    const written: string[] = [];
    const reply = { raw: { writableEnded: false, destroyed: false, write: (chunk: string) => written.push(chunk) } } as unknown as FastifyReply;
    framing.write(reply, framing.error({ status: 500, body: openAiError(500, "Internal server error", "internal_error") }));
    expect(written).toEqual([`event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "api_error", message: "Internal server error" } })}\n\n`]);
  });
});

describe("error bodies by dialect", () => {
  const error = { status: 429, body: openAiError(429, "Too many requests", "queue_full") };
  it("answers /v1/messages in Anthropic's shape, /api/ in Ollama's, the rest in OpenAI's", () => {
    expect(errorBodyForUrl("/v1/messages?beta=true", error)).toEqual({ type: "error", error: { type: "rate_limit_error", message: "Too many requests" } });
    expect(errorBodyForUrl("/v1/messages/count_tokens", { status: 503, body: openAiError(503, "Busy") })).toEqual({ type: "error", error: { type: "overloaded_error", message: "Busy" } });
    expect(errorBodyForUrl("/v1/messagesX", error)).toEqual(error.body);
    expect(errorBodyForUrl("/api/chat", error)).toEqual({ error: "Too many requests" });
    expect(errorBodyForUrl("/v1/chat/completions", error)).toEqual(error.body);
  });
});
