import type { FastifyInstance } from "fastify";
import type { ApiServices } from "../apiServices.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { anthropicStreamFraming } from "./anthropicStreamFraming.js";
import { messagesRequestSchema } from "./messagesRequestSchema.js";
import { newMessageId, toAnthropicMessage } from "./toAnthropicMessage.js";
import { toChatGenerationOptions, toChatMessages } from "./toChatRequest.js";

/** `POST /v1/messages` (Anthropic's Messages API), streaming (SSE with named events) or not. */
export function registerMessagesRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/messages", async (request, reply) => {
    const body = parseBody(messagesRequestSchema, request.body);
    const options = toChatGenerationOptions(body);
    const messages = toChatMessages(body);
    const disconnect = abortOnDisconnect(request, reply);
    // metadata.user_id keeps one user on one target of a weighted route, as OpenAI's `user` does.
    const routing = routingHintsOf(request, { user: body.metadata?.user_id ?? null });
    const generation = await inference.chat(body.model, messages, { ...options, signal: disconnect.signal, routing });
    const { modelId, stream } = generation;
    announceServedBy(reply, generation);
    recordAudit(request, { model: modelId, prompt: messages });
    const id = newMessageId();
    const choice = body.tool_choice;
    const singleToolUse = choice !== undefined && choice.type !== "none" && choice.disable_parallel_tool_use === true;

    if (!body.stream) {
      const result = await stream.collect();
      recordAudit(request, { usage: result.usage });
      return toAnthropicMessage(id, modelId, result, singleToolUse);
    }
    const forcedToolUse = (options.tools?.length ?? 0) > 0 && (choice?.type === "any" || choice?.type === "tool");
    return streamGeneration(request, reply, stream, anthropicStreamFraming({ id, model: modelId, forcedToolUse, singleToolUse }));
  });
}
