import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Aborts when the client goes away before the response is complete, so its generation stops
 * and its sequence is freed at once.
 */
export function abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  request.raw.once("aborted", () => controller.abort());
  return controller;
}

/**
 * Takes over the response for a stream: status 200 with the given content type, the headers
 * hooks set so far, and the request id (a hijacked reply skips the onSend hook that sets it on
 * every other answer, and clients such as openai's read it as `request_id`).
 */
export function startStream(reply: FastifyReply, contentType: string): void {
  reply.hijack();
  const headers: Record<string, string | number | string[]> = {};
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
  reply.raw.writeHead(200, {
    ...headers,
    "x-request-id": reply.request.id,
    "content-type": contentType,
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  reply.raw.flushHeaders();
}

/** Writes one server-sent event `data:` line. */
export function writeSse(reply: FastifyReply, data: unknown): void {
  if (reply.raw.writableEnded || reply.raw.destroyed) return;
  reply.raw.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
}

/** Writes one NDJSON line (Ollama's streaming format). */
export function writeNdjson(reply: FastifyReply, data: unknown): void {
  if (reply.raw.writableEnded || reply.raw.destroyed) return;
  reply.raw.write(`${JSON.stringify(data)}\n`);
}

export function endStream(reply: FastifyReply): void {
  if (!reply.raw.writableEnded) reply.raw.end();
}
