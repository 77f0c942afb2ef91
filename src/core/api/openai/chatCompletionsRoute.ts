import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { GenerationResult, ToolCall } from "../../../shared/api/generation.js";
import type { Core } from "../../createCore.js";
import { toMardukError } from "../../errors.js";
import { toHttpError } from "../apiErrors.js";
import { recordAudit } from "../auditContext.js";
import { abortOnDisconnect, endStream, startStream, writeSse } from "../sse.js";
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
  };
}

function toOpenAiToolCalls(calls: readonly ToolCall[]) {
  return calls.map((call) => ({ id: call.id, type: "function" as const, function: { name: call.name, arguments: call.arguments } }));
}

/** `POST /v1/chat/completions`, streaming (SSE) or not. */
export function registerChatCompletionsRoute(app: FastifyInstance, core: Core): void {
  app.post("/v1/chat/completions", async (request, reply) => {
    const body = parseBody(chatCompletionRequestSchema, request.body);
    const options = toChatGenerationOptions(body);
    const messages = toChatMessages(body.messages);
    const disconnect = abortOnDisconnect(request, reply);
    const { modelId, stream } = await core.inference.chat(body.model, messages, { ...options, signal: disconnect.signal });
    recordAudit(request, { model: modelId, prompt: messages });
    const id = `chatcmpl-${randomUUID().replace(/-/g, "")}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      const result = await stream.collect();
      recordAudit(request, { usage: result.usage });
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

    // Failures before the first token (full queue, bad schema) still get a proper status.
    await stream.started;
    startStream(reply, "text/event-stream; charset=utf-8");
    const chunk = (delta: object, finishReason: string | null = null) => ({
      id,
      object: "chat.completion.chunk",
      created,
      model: modelId,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
    try {
      writeSse(reply, chunk({ role: "assistant", content: "" }));
      for await (const delta of stream) if (delta.text) writeSse(reply, chunk({ content: delta.text }));
      const result = await stream.result;
      recordAudit(request, { usage: result.usage });
      if (result.toolCalls) {
        writeSse(reply, chunk({ tool_calls: toOpenAiToolCalls(result.toolCalls).map((call, index) => ({ index, ...call })) }));
      }
      writeSse(reply, chunk({}, toOpenAiFinishReason(result.finishReason)));
      if (body.stream_options?.include_usage) {
        writeSse(reply, { id, object: "chat.completion.chunk", created, model: modelId, choices: [], usage: toOpenAiUsage(result) });
      }
      writeSse(reply, "[DONE]");
    } catch (error) {
      // Headers are out: report the error in-band, as OpenAI does, then close.
      writeSse(reply, toHttpError(toMardukError(error)).body);
      recordAudit(request, { status: toHttpError(toMardukError(error)).status });
    } finally {
      endStream(reply);
    }
    return reply;
  });
}
