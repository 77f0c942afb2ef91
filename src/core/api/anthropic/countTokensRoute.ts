import type { FastifyInstance } from "fastify";
import type { ApiServices } from "../apiServices.js";
import { recordAudit } from "../auditContext.js";
import { routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { parseBody } from "../validation.js";
import { countTokensRequestSchema } from "./messagesRequestSchema.js";
import { toChatMessages, toPromptOptions } from "./toChatRequest.js";
import { SERVED_BY_HEADERS } from "../../../shared/routingHeaders.js";

/**
 * `POST /v1/messages/count_tokens`: `{input_tokens}`, the prompt tokens `/v1/messages` would
 * report for the same system, messages and tools. Exact for this machine's models (their
 * tokenizer and chat template, the model loaded if it is not); a rough estimate for a model
 * only a remote serves (`x-marduk-token-count: estimate` says so).
 */
export function registerCountTokensRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/messages/count_tokens", async (request, reply) => {
    const body = parseBody(countTokensRequestSchema, request.body);
    const prompt = toPromptOptions(body);
    const messages = toChatMessages(body);
    const disconnect = abortOnDisconnect(request, reply);
    const counted = await inference.countChatTokens(body.model, messages, { ...prompt, signal: disconnect.signal, routing: routingHintsOf(request) });
    recordAudit(request, { model: counted.modelId });
    reply.header(SERVED_BY_HEADERS.provider, counted.provider);
    if (!counted.exact) reply.header(SERVED_BY_HEADERS.tokenCount, "estimate");
    return { input_tokens: counted.tokens };
  });
}
