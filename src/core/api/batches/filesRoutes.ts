import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseBatchInput } from "../../batches/batchInput.js";
import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import type { StoredFileInfo } from "../../storage/FileStore.js";
import { openAiError } from "../apiErrors.js";
import type { ApiServices } from "../apiServices.js";
import { auditDetails } from "../auditContext.js";

/** Largest file `POST /v1/files` accepts (OpenAI's bound for batch input files). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** OpenAI's file object. */
export function toFileObject(file: StoredFileInfo) {
  return {
    id: file.id,
    object: "file" as const,
    bytes: file.bytes,
    created_at: Math.floor(file.createdAt / 1000),
    filename: file.filename,
    purpose: file.purpose,
    status: "processed" as const,
    expires_at: null,
    status_details: null,
  };
}

const notFound = (reply: FastifyReply, id: string) => reply.code(404).send(openAiError(404, `No such File object: ${id}`, "file_not_found", "file_id"));

/**
 * The part of OpenAI's Files API that batches need: upload (multipart, purpose "batch", JSONL
 * checked line by line), describe, list, download and delete. Batch results are files of
 * purpose "batch_output".
 */
export function registerFilesRoutes(app: FastifyInstance, { files }: Pick<ApiServices, "files">): void {
  // Its own scope: the multipart parser applies to this upload only; every other route keeps
  // parsing bodies as JSON.
  void app.register(async (scope) => {
    scope.addContentTypeParser("multipart/form-data", { parseAs: "buffer", bodyLimit: MAX_UPLOAD_BYTES + 64 * 1024 }, (_request, body, done) => done(null, body));
    scope.post("/v1/files", { bodyLimit: MAX_UPLOAD_BYTES + 64 * 1024 }, async (request, reply) => {
      const contentType = request.headers["content-type"] ?? "";
      if (!contentType.startsWith("multipart/form-data") || !Buffer.isBuffer(request.body)) {
        throw new InvalidArgumentError("Upload a file as multipart/form-data with the fields 'file' and 'purpose'");
      }
      // Node's own multipart reader (undici's FormData, as fetch uses): no hand-written parser
      // and no dependency. The body is already bounded by the route's bodyLimit.
      let form: FormData;
      try {
        form = await new Response(request.body, { headers: { "content-type": contentType } }).formData();
      } catch {
        throw new InvalidArgumentError("The body is not valid multipart/form-data");
      }
      const purpose = form.get("purpose");
      if (purpose !== "batch") throw new UnsupportedError("'purpose' must be \"batch\": this server keeps files for the Batch API only", "purpose");
      const file = form.get("file");
      if (!file || typeof file === "string") throw new InvalidArgumentError("The field 'file' must be a file", "file");
      if (file.size > MAX_UPLOAD_BYTES) throw Object.assign(new Error(`A file has at most ${MAX_UPLOAD_BYTES} bytes`), { statusCode: 413 });
      const content = Buffer.from(await file.arrayBuffer());
      // Checked now, so that a bad file is refused at upload with the line that is wrong.
      parseBatchInput(content.toString("utf8"));
      const ownerKeyId = auditDetails(request).keyId;
      const stored = files.save({ id: `file-${randomUUID().replace(/-/g, "")}`, filename: file.name || "upload.jsonl", purpose, content, ...(ownerKeyId ? { ownerKeyId } : {}) });
      return reply.code(200).send(toFileObject(stored));
    });
  });

  app.get<{ Querystring: { purpose?: string; limit?: string; after?: string } }>("/v1/files", async (request) => {
    const { purpose, limit, after } = request.query ?? {};
    const all = files.list(auditDetails(request).keyId, typeof purpose === "string" && purpose ? purpose : undefined);
    const start = after ? all.findIndex((file) => file.id === after) + 1 : 0;
    const count = Math.min(10_000, Math.max(1, Number(limit) || 10_000));
    const page = all.slice(start, start + count);
    return { object: "list", data: page.map(toFileObject), first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: start + count < all.length };
  });

  // Each key sees only its own files (ids may leak into logs; contents must not).
  const ownFile = (request: FastifyRequest<{ Params: { id: string } }>) => {
    const file = files.get(request.params.id);
    return file && file.ownerKeyId === auditDetails(request).keyId ? file : undefined;
  };

  app.get<{ Params: { id: string } }>("/v1/files/:id", async (request, reply) => {
    const file = ownFile(request);
    return file ? toFileObject(file) : notFound(reply, request.params.id);
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id/content", async (request, reply) => {
    const content = ownFile(request) && files.content(request.params.id);
    if (!content) return notFound(reply, request.params.id);
    return reply.header("content-type", "application/octet-stream").send(content);
  });

  app.delete<{ Params: { id: string } }>("/v1/files/:id", async (request, reply) => {
    if (!ownFile(request) || !files.remove(request.params.id)) return notFound(reply, request.params.id);
    return { id: request.params.id, object: "file", deleted: true };
  });
}
