import type { FastifyInstance, FastifyReply } from "fastify";
import type { GenerationResult } from "../../../shared/api/generation.js";
import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import { openAiError } from "../apiErrors.js";
import type { ApiServices } from "../apiServices.js";
import { auditDetails, recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { newResponseId, responseObject, statusOf, type ResponseHeader, type WireObject } from "./responseObjects.js";
import { ResponseOutputBuilder } from "./ResponseOutputBuilder.js";
import { inputItemsQuerySchema, responseRequestSchema, type ResponseRequest } from "./responseRequestSchema.js";
import { responseStreamFraming } from "./responseStreamFraming.js";
import { toChatTurn, type ChatTurn } from "./toChatTurn.js";
import type { StoredResponse } from "../../storage/ResponseStore.js";
import { SERVED_BY_HEADERS } from "../../../shared/routingHeaders.js";

const notFound = (reply: FastifyReply, id: string, code: string, param: string | null) =>
  reply.code(404).send(openAiError(404, `No response found with id '${id}'.`, code, param));

/** GET queries we cannot honour: re-streaming a stored response, extra `include` data. */
function rejectUnsupportedQuery(query: unknown): void {
  const { stream, include } = (query ?? {}) as Record<string, unknown>;
  if (stream !== undefined && stream !== "false") throw new UnsupportedError("Streaming a stored response is not supported by this server", "stream");
  if (include !== undefined) throw new UnsupportedError("'include' is not supported by this server", "include");
}

/** The request's turn: its model (or the previous response's) and the messages it evaluates, after the earlier turns it continues. */
interface ResolvedTurn {
  model: string;
  turn: ChatTurn;
  previous: StoredResponse | undefined;
}

/**
 * Resolves `previous_response_id` (visible to `owner` only) and the model; answers 404 on the
 * reply and returns undefined for an unknown previous response.
 */
function resolveTurn(body: ResponseRequest, owner: string | undefined, responses: ApiServices["responses"], reply: FastifyReply): ResolvedTurn | undefined {
  const previous = body.previous_response_id ? responses.get(body.previous_response_id, owner) : undefined;
  if (body.previous_response_id && !previous) {
    void reply
      .code(404)
      .send(openAiError(404, `Previous response with id '${body.previous_response_id}' not found.`, "previous_response_not_found", "previous_response_id"));
    return undefined;
  }
  const model = body.model ?? (typeof previous?.response.model === "string" ? previous.response.model : undefined);
  if (!model) throw new InvalidArgumentError("Missing required parameter: 'model'", "model");
  const history = previous ? [...previous.inputItems, ...((previous.response.output as WireObject[] | undefined) ?? [])] : [];
  return { model, turn: toChatTurn(body, history), previous };
}

/**
 * The OpenAI Responses API: `POST /v1/responses` (streamed or not) through the inference door,
 * and the stored responses (`GET`/`DELETE /v1/responses/{id}`, `GET .../input_items`), each
 * visible only to the API key that made it.
 * A stored response (`store`, default true) keeps the items it answered, so
 * `previous_response_id` continues the conversation without resending it.
 */
export function registerResponsesRoutes(app: FastifyInstance, { inference, responses }: ApiServices): void {
  app.post("/v1/responses", async (request, reply) => {
    const body = parseBody(responseRequestSchema, request.body);
    const owner = auditDetails(request).keyId;
    const resolved = resolveTurn(body, owner, responses, reply);
    if (!resolved) return reply;
    const { model, turn, previous } = resolved;
    const id = newResponseId("resp");
    // A conversation's turns share a sticky key, so they stay on one target and its prompt cache stays warm.
    const conversationId = previous?.conversationId ?? id;
    const stickyKey = body.prompt_cache_key ?? body.safety_identifier ?? body.user ?? `responses:${conversationId}`;
    const disconnect = abortOnDisconnect(request, reply);
    const generation = await inference.chat(model, turn.messages, {
      ...turn.options,
      signal: disconnect.signal,
      routing: routingHintsOf(request, { prompt_cache_key: stickyKey, cache: body.cache }),
    });
    announceServedBy(reply, generation);
    recordAudit(request, { model: generation.modelId, prompt: turn.messages });
    const header: ResponseHeader = { id, createdAt: Math.floor(Date.now() / 1000), model: generation.modelId, request: body };
    const builder = new ResponseOutputBuilder(body.parallel_tool_calls !== false);
    const finished = (result: GenerationResult): WireObject => {
      const response = responseObject(header, { status: statusOf(result), output: builder.output, result });
      if (body.store !== false) responses.save({ id, conversationId, ...(owner ? { ownerKeyId: owner } : {}), createdAt: Date.now(), response, inputItems: turn.inputItems });
      return response;
    };

    if (!body.stream) {
      const result = await generation.stream.collect();
      recordAudit(request, { usage: result.usage });
      builder.delta(result);
      builder.finish(result);
      return finished(result);
    }
    return streamGeneration(request, reply, generation.stream, responseStreamFraming(header, builder, finished));
  });

  // The prompt tokens `POST /v1/responses` would report as input_tokens for the same body: exact
  // for this machine's models, estimated for a model only a remote serves (x-marduk-token-count).
  app.post("/v1/responses/input_tokens", async (request, reply) => {
    const body = parseBody(responseRequestSchema, request.body);
    const resolved = resolveTurn(body, auditDetails(request).keyId, responses, reply);
    if (!resolved) return reply;
    const { tools, toolChoice, responseFormat, reasoning } = resolved.turn.options;
    const disconnect = abortOnDisconnect(request, reply);
    const counted = await inference.countChatTokens(resolved.model, resolved.turn.messages, {
      tools,
      toolChoice,
      responseFormat,
      reasoning,
      signal: disconnect.signal,
      routing: routingHintsOf(request),
    });
    recordAudit(request, { model: counted.modelId });
    reply.header(SERVED_BY_HEADERS.provider, counted.provider);
    if (!counted.exact) reply.header(SERVED_BY_HEADERS.tokenCount, "estimate");
    return { object: "response.input_tokens", input_tokens: counted.tokens };
  });

  app.get<{ Params: { id: string } }>("/v1/responses/:id", async (request, reply) => {
    rejectUnsupportedQuery(request.query);
    const stored = responses.get(request.params.id, auditDetails(request).keyId);
    return stored ? stored.response : notFound(reply, request.params.id, "not_found", "response_id");
  });

  app.delete<{ Params: { id: string } }>("/v1/responses/:id", async (request, reply) => {
    if (!responses.remove(request.params.id, auditDetails(request).keyId)) return notFound(reply, request.params.id, "not_found", "response_id");
    return { id: request.params.id, object: "response", deleted: true };
  });

  app.get<{ Params: { id: string } }>("/v1/responses/:id/input_items", async (request, reply) => {
    const query = parseBody(inputItemsQuerySchema, { ...(request.query as object) });
    if (query.include !== undefined) throw new UnsupportedError("'include' is not supported by this server", "include");
    const stored = responses.get(request.params.id, auditDetails(request).keyId);
    if (!stored) return notFound(reply, request.params.id, "not_found", "response_id");
    // OpenAI lists the newest item first unless asked otherwise.
    const ordered = query.order === "asc" ? stored.inputItems : [...stored.inputItems].reverse();
    let start = 0;
    if (query.after !== undefined) {
      start = ordered.findIndex((item) => item.id === query.after) + 1;
      if (start === 0) throw new InvalidArgumentError(`No input item with id '${query.after}' in this response`, "after");
    }
    const data = ordered.slice(start, start + (query.limit ?? 20));
    return {
      object: "list",
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + data.length < ordered.length,
    };
  });
}
