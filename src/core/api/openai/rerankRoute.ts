import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { ApiServices } from "../apiServices.js";
import { recordAudit } from "../auditContext.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { abortOnDisconnect } from "../sse.js";
import { parseBody } from "../validation.js";

/** Most documents one rerank request may rank (llama-server has no bound; Cohere's is 1000). */
export const MAX_RERANK_DOCUMENTS = 1000;
/** Longest query or document, in characters (the model's context bounds it further). */
export const MAX_RERANK_TEXT_CHARS = 100_000;

const text = z.string().max(MAX_RERANK_TEXT_CHARS);

/** The body llama-server, Jina and Cohere clients send: documents as strings or `{text}` objects. */
export const rerankRequestSchema = z.object({
  model: z.string().min(1),
  query: text.min(1),
  documents: z.array(z.union([text, z.object({ text })])).min(1).max(MAX_RERANK_DOCUMENTS),
  top_n: z.number().int().min(1).nullish(),
  return_documents: z.boolean().nullish(),
  user: z.string().optional(),
});

/** The paths llama-server serves reranking on; all take the same body. */
export const RERANK_PATHS = ["/v1/rerank", "/rerank", "/v1/reranking"] as const;

/**
 * `POST /v1/rerank`: scores each document's relevance to the query with a reranking model and
 * answers them sorted by score, highest first (`top_n` keeps the best ones).
 */
export function registerRerankRoute(app: FastifyInstance, { inference }: ApiServices): void {
  for (const path of RERANK_PATHS) {
    app.post(path, async (request, reply) => {
      const body = parseBody(rerankRequestSchema, request.body);
      const documents = body.documents.map((document) => (typeof document === "string" ? document : document.text));
      const disconnect = abortOnDisconnect(request, reply);
      const result = await inference.rerank(body.model, body.query, documents, { signal: disconnect.signal, routing: routingHintsOf(request, body) });
      announceServedBy(reply, result);
      recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
      const ranked = result.scores
        .map((relevance_score, index) => ({ index, relevance_score }))
        .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
        .slice(0, body.top_n ?? documents.length);
      return {
        model: result.modelId,
        object: "list",
        results: ranked.map((item) => (body.return_documents ? { ...item, document: { text: documents[item.index]! } } : item)),
        usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
      };
    });
  }
}
