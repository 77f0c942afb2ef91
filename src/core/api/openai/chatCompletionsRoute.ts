import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { GenerationResult, ToolCall, ToolCallDelta } from "../../../shared/api/generation.js";
import type { ApiServices } from "../apiServices.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect, writeSse } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { chatCompletionRequestSchema } from "./chatCompletionSchema.js";
import { toChatGenerationOptions, toChatMessages } from "./toEngineRequest.js";

/** OpenAI's finish reasons; an aborted generation reports "stop" as OpenAI has no other word for it. */
export function toOpenAiFinishReason(reason: GenerationResult["finishReason"]): "stop" | "length" | "tool_calls" {
  return reason === "abort" ? "stop" : reason;
}

export function toOpenAiUsage(result: GenerationResult) {
  return {
    prompt_tokens: result.usage.promptTokens,
    completion_tokens: result.usage.completionTokens,
    total_tokens: result.usage.promptTokens + result.usage.completionTokens,
    // Of the completion tokens, those spent thinking (OpenAI's field; absent for other models).
    ...(result.usage.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: result.usage.reasoningTokens } } : {}),
    // Prompt tokens the engine reused from a sequence's cache (OpenAI's prompt caching field).
    ...(result.usage.cachedPromptTokens !== undefined ? { prompt_tokens_details: { cached_tokens: result.usage.cachedPromptTokens } } : {}),
  };
}

function toOpenAiToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call) => ({ id: call.id, type: "function" as const, function: { name: call.name, arguments: call.arguments } }));
}

/** The `chat.completion` object of a finished generation (the route's answer, and a batch line's body). */
export function toChatCompletion(id: string, created: number, modelId: string, result: GenerationResult) {
  return {
    id,
    object: "chat.completion",
    created,
    model: modelId,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: result.toolCalls ? (result.text || null) : result.text,
          // The thinking, apart from the answer (as DeepSeek, llama-server and vLLM name it).
          ...(result.reasoning ? { reasoning_content: result.reasoning } : {}),
          refusal: null,
          ...(result.toolCalls ? { tool_calls: toOpenAiToolCalls(result.toolCalls) } : {}),
        },
        logprobs: null,
        finish_reason: toOpenAiFinishReason(result.finishReason),
      },
    ],
    usage: toOpenAiUsage(result),
  };
}

/** `POST /v1/chat/completions`, streaming (SSE) or not. */
export function registerChatCompletionsRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseBody(chatCompletionRequestSchema, request.body);
    const options = toChatGenerationOptions(body);
    const messages = toChatMessages(body.messages);
    const disconnect = abortOnDisconnect(request, reply);
    const generation = await inference.chat(body.model, messages, { ...options, signal: disconnect.signal, routing: routingHintsOf(request, body) });
    const { modelId, stream } = generation;
    announceServedBy(reply, generation);
    recordAudit(request, { model: modelId, prompt: messages });
    const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      const result = await stream.collect();
      recordAudit(request, { usage: result.usage });
      return toChatCompletion(id, created, modelId, result);
    }

    const chunk = (delta: object, finishReason: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: modelId,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
    // Calls streamed piece by piece (forced calls) are not sent again at the end.
    const streamedCalls = new Set<number>();
    const toolCallChunk = (call: ToolCallDelta) => {
      streamedCalls.add(call.index);
      return chunk({ tool_calls: [{ index: call.index, ...(call.id ? { id: call.id, type: "function" } : {}), function: { ...(call.name ? { name: call.name } : {}), arguments: call.arguments } }] });
    };
    return streamGeneration(request, reply, stream, {
      contentType: "text/event-stream; charset=utf-8",
      write: writeSse,
      start: () => [chunk({ role: "assistant", content: "" })],
      delta: (delta) => [...(delta.reasoning ? [chunk({ reasoning_content: delta.reasoning })] : []), ...(delta.text ? [chunk({ content: delta.text })] : []), ...(delta.toolCall ? [toolCallChunk(delta.toolCall)] : [])],
      end: (result) => [
        ...(result.toolCalls && result.toolCalls.some((_call, index) => !streamedCalls.has(index))
          ? [chunk({ tool_calls: toOpenAiToolCalls(result.toolCalls).map((call, index) => ({ index, ...call })).filter((call) => !streamedCalls.has(call.index)) })]
          : []),
        chunk({}, toOpenAiFinishReason(result.finishReason)),
        ...(body.stream_options?.include_usage
          ? [{ id, object: "chat.completion.chunk", created, model: modelId, choices: [], usage: toOpenAiUsage(result) }]
          : []),
        "[DONE]",
      ],
      error: (httpError) => httpError.body,
    });
  });
}
