import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { DownloadProgress } from "../../../shared/api/hub.js";
import { toMardukError } from "../../errors.js";
import type { ApiServices } from "../apiServices.js";
import { toHttpError } from "../apiErrors.js";
import { abortOnDisconnect, endStream, startStream, writeNdjson } from "../sse.js";
import { parseBody } from "../validation.js";
import { ollamaCopySchema, ollamaDeleteSchema, ollamaPullSchema } from "./ollamaSchemas.js";
import { requestedModel } from "./toOllamaRequest.js";

/**
 * The key of one file's progress bar in Ollama's pull lines (`pulling <digest>`): a sha256 of
 * the reference and the part, stable across progress lines. It is not the file's content
 * digest, which the download manager checks against the hub but does not report while it runs.
 */
function progressDigest(progress: DownloadProgress): string {
  return `sha256:${createHash("sha256").update(`${progress.ref}\u0000${progress.part}`).digest("hex")}`;
}

/**
 * Ollama's model management over our own: `/api/pull` downloads through the download manager
 * (names such as `hf.co/owner/repo:Q4_K_M` or `hf.co/owner/repo`, whatever `pull` takes),
 * `/api/delete` deletes like the app does, `/api/copy` makes a user alias.
 */
export function registerOllamaModelRoutes(app: FastifyInstance, { catalog }: Pick<ApiServices, "catalog">): void {
  app.post("/api/pull", async (request, reply) => {
    const body = parseBody(ollamaPullSchema, request.body);
    const name = requestedModel(body);
    const disconnect = abortOnDisconnect(request, reply);
    // A client that goes away cancels the download; its partial file stays for a resume.
    const task = catalog.pull(name, { signal: disconnect.signal });
    const finish = async () => {
      const result = await task.done;
      // The name pulled by serves the model from now on (when it is not already its id).
      if (result.modelId !== name && !(await catalog.find(name))) {
        await catalog.copy(result.modelId, name).catch((error: unknown) => request.log.warn({ err: error, name }, "could not name the pulled model as pulled"));
      }
    };
    if (!body.stream) {
      await finish();
      return { status: "success" };
    }
    startStream(reply, "application/x-ndjson");
    writeNdjson(reply, { status: "pulling manifest" });
    const unsubscribe = task.onProgress((progress) => {
      if (progress.state !== "downloading" || progress.totalBytes === undefined) return;
      const digest = progressDigest(progress);
      writeNdjson(reply, { status: `pulling ${digest.slice("sha256:".length, "sha256:".length + 12)}`, digest, total: progress.totalBytes, completed: progress.receivedBytes });
    });
    try {
      await finish();
      unsubscribe();
      const last = task.progress();
      if (last.totalBytes !== undefined) {
        const digest = progressDigest(last);
        writeNdjson(reply, { status: `pulling ${digest.slice("sha256:".length, "sha256:".length + 12)}`, digest, total: last.totalBytes, completed: last.totalBytes });
      }
      writeNdjson(reply, { status: "verifying sha256 digest" });
      writeNdjson(reply, { status: "writing manifest" });
      writeNdjson(reply, { status: "success" });
    } catch (error) {
      writeNdjson(reply, { error: toHttpError(toMardukError(error)).body.error.message });
    } finally {
      unsubscribe();
      endStream(reply);
    }
    return reply;
  });

  app.delete("/api/delete", async (request) => {
    const body = parseBody(ollamaDeleteSchema, request.body);
    await catalog.remove(requestedModel(body));
    return {};
  });

  app.post("/api/copy", async (request) => {
    const body = parseBody(ollamaCopySchema, request.body);
    await catalog.copy(requestedModel({ model: body.source }), requestedModel({ model: body.destination }));
    return {};
  });
}
