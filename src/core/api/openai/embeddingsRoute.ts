import type { FastifyInstance } from "fastify";
import type { EmbeddingInput, EmbeddingResult } from "../../../shared/api/generation.js";
import type { ApiServices } from "../apiServices.js";
import { UnsupportedError } from "../../errors.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { parseBody } from "../validation.js";
import { embeddingRequestSchema, type EmbeddingRequest } from "./chatCompletionSchema.js";

/** A vector as OpenAI's base64 encoding: little-endian float32 bytes. */
export function toBase64Embedding(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString("base64");
}

/** The inputs of an embeddings request (the route's, and a batch line's). */
export function toEmbeddingInputs(body: EmbeddingRequest): readonly EmbeddingInput[] {
  if (body.dimensions != null) throw new UnsupportedError("'dimensions' is not supported: vectors have the model's own size", "dimensions");
  // One text or one array of token ids is one input.
  return typeof body.input === "string" || typeof body.input[0] === "number" ? [body.input as EmbeddingInput] : (body.input as readonly EmbeddingInput[]);
}

/** The embeddings `list` object of a result (the route's answer, and a batch line's body). */
export function toEmbeddingList(result: EmbeddingResult & { modelId: string }, base64: boolean) {
  return {
    object: "list",
    data: result.embeddings.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: base64 ? toBase64Embedding(vector) : vector,
    })),
    model: result.modelId,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

/** `POST /v1/embeddings` with a string, an array of strings, or token ids; float or base64 encoding. */
export function registerEmbeddingsRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/embeddings", async (request, reply) => {
    const body = parseBody(embeddingRequestSchema, request.body);
    const inputs = toEmbeddingInputs(body);
    const disconnect = abortOnDisconnect(request, reply);
    const result = await inference.embed(body.model, inputs, { signal: disconnect.signal, routing: routingHintsOf(request, body) });
    announceServedBy(reply, result);
    recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
    return toEmbeddingList(result, body.encoding_format === "base64");
  });
}
