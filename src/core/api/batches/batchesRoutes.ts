import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { openAiError } from "../apiErrors.js";
import type { ApiServices } from "../apiServices.js";
import { auditDetails } from "../auditContext.js";
import { parseBody } from "../validation.js";

const createBatchSchema = z.object({
  input_file_id: z.string().min(1).max(200),
  endpoint: z.string().max(200),
  completion_window: z.string().max(20),
  // OpenAI's bounds: 16 pairs, keys up to 64 characters, values up to 512.
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((value) => Object.keys(value).length <= 16, "at most 16 pairs")
    .nullish(),
  output_expires_after: z.unknown().optional(),
});

const notFound = (reply: FastifyReply, id: string) => reply.code(404).send(openAiError(404, `No batch found with id '${id}'.`, "batch_not_found", "batch_id"));

/**
 * OpenAI's Batch API: `POST /v1/batches` over an uploaded input file, `GET` one or the list,
 * and `POST .../cancel`. The lines run in the background (see BatchRunner), below interactive
 * requests; the results are files read through `GET /v1/files/{id}/content`.
 */
export function registerBatchesRoutes(app: FastifyInstance, { batches }: Pick<ApiServices, "batches">): void {
  app.post("/v1/batches", async (request) => {
    const body = parseBody(createBatchSchema, request.body);
    return batches.create(
      { input_file_id: body.input_file_id, endpoint: body.endpoint, completion_window: body.completion_window, metadata: body.metadata ?? null },
      auditDetails(request).keyId,
    );
  });

  app.get<{ Querystring: { limit?: string; after?: string } }>("/v1/batches", async (request) => {
    const { limit, after } = request.query ?? {};
    const count = Math.min(100, Math.max(1, Number(limit) || 20));
    const page = batches.list(count + 1, typeof after === "string" && after ? after : undefined, { ownerKeyId: auditDetails(request).keyId });
    const data = page.slice(0, count);
    return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.length > count };
  });

  // Each key sees only its own batches.
  const owned = (request: FastifyRequest<{ Params: { id: string } }>) => batches.isOwnedBy(request.params.id, auditDetails(request).keyId);

  app.get<{ Params: { id: string } }>("/v1/batches/:id", async (request, reply) =>
    (owned(request) && batches.get(request.params.id)) || notFound(reply, request.params.id),
  );

  app.post<{ Params: { id: string } }>("/v1/batches/:id/cancel", async (request, reply) =>
    (owned(request) && batches.cancel(request.params.id)) || notFound(reply, request.params.id),
  );
}
