import type { FastifyInstance } from "fastify";
import type { EmbeddingInput } from "../../../shared/api/generation.js";
import type { ApiServices } from "../apiServices.js";
import { UnsupportedError } from "../../errors.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { parseBody } from "../validation.js";
import { embeddingRequestSchema } from "./chatCompletionSchema.js";

/** A vector as OpenAI's base64 encoding: little-endian float32 bytes. */
export function toBase64Embedding(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString("base64");
}

/** `POST /v1/embeddings` with a string, an array of strings, or token ids; float or base64 encoding. */
export function registerEmbeddingsRoute(app: FastifyInstance, { inference }: ApiServices): void {
  app.post("/v1/embeddings", async (request, reply) => {
    const body = parseBody(embeddingRequestSchema, request.body);
    if (body.dimensions != null) throw new UnsupportedError("'dimensions' is not supported: vectors have the model's own size", "dimensions");
    // One text or one array of token ids is one input.
    const inputs: readonly EmbeddingInput[] = typeof body.input === "string" || typeof body.input[0] === "number" ? [body.input as EmbeddingInput] : (body.input as readonly EmbeddingInput[]);
    const disconnect = abortOnDisconnect(request, reply);
    const result = await inference.embed(body.model, inputs, { signal: disconnect.signal, routing: routingHintsOf(request, body) });
    announceServedBy(reply, result);
    recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
    const base64 = body.encoding_format === "base64";
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
  });
}
