import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { GenerationResult } from "../../../shared/api/generation.js";
import type { ApiServices } from "../apiServices.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect, writeSse } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { completionRequestSchema } from "./chatCompletionSchema.js";
import { toOpenAiFinishReason, toOpenAiUsage } from "./chatCompletionsRoute.js";
import { toCompletionOptions } from "./toEngineRequest.js";

/** The `text_completion` object of a finished generation (the route's answer, and a batch line's body). */
export function toTextCompletion(id: string, created: number, modelId: string, result: GenerationResult) {
  return {
    id,
    object: "text_completion",
    created,
    model: modelId,
    choices: [{ index: 0, text: result.text, logprobs: null, finish_reason: toOpenAiFinishReason(result.finishReason) }],
    usage: toOpenAiUsage(result),
  };
}

/** `POST /v1/completions`: raw text continuation, streaming (SSE) or not. */
export function registerCompletionsRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/completions", async (request, reply) => {
    const body = parseBody(completionRequestSchema, request.body);
    const options = toCompletionOptions(body);
    const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
    const disconnect = abortOnDisconnect(request, reply);
    const generation = await inference.complete(body.model, prompt, { ...options, signal: disconnect.signal, routing: routingHintsOf(request, body) });
    const { modelId, stream } = generation;
    announceServedBy(reply, generation);
    recordAudit(request, { model: modelId, prompt });
    const id = `cmpl-${randomUUID().replace(/-/g, "")}`;
    const created = Math.floor(Date.now() / 1000);
    const choice = (text: string, finishReason: string | null) => ({ index: 0, text, logprobs: null, finish_reason: finishReason });

    if (!body.stream) {
      const result = await stream.collect();
      recordAudit(request, { usage: result.usage });
      return toTextCompletion(id, created, modelId, result);
    }

    const chunk = (text: string, finishReason: string | null) => ({
      id,
      object: "text_completion",
      created,
      model: modelId,
      choices: [choice(text, finishReason)],
    });
    return streamGeneration(request, reply, stream, {
      contentType: "text/event-stream; charset=utf-8",
      write: writeSse,
      delta: (delta) => (delta.text ? [chunk(delta.text, null)] : []),
      end: (result) => [
        chunk("", toOpenAiFinishReason(result.finishReason)),
        ...(body.stream_options?.include_usage
          ? [{ id, object: "text_completion", created, model: modelId, choices: [], usage: toOpenAiUsage(result) }]
          : []),
        "[DONE]",
      ],
      error: (httpError) => httpError.body,
    });
  });
}
