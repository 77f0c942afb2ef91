import type { FastifyReply, FastifyRequest } from "fastify";
import type { GenerationDelta, GenerationResult } from "../../shared/api/generation.js";
import type { GenerationStream } from "../inference/GenerationStream.js";
import { toMardukError } from "../errors.js";
import { toHttpError, type HttpError } from "./apiErrors.js";
import { recordAudit } from "./auditContext.js";
import { endStream, startStream } from "./sse.js";

/** How one protocol frames a streamed generation (SSE chunks, NDJSON lines). */
export interface StreamFraming {
  contentType: string;
  write(reply: FastifyReply, data: unknown): void;
  /** Sent once, before the first delta. */
  start?(): unknown[];
  /** What to send for one delta (nothing for an empty one, say). */
  delta(delta: GenerationDelta): unknown[];
  /** What to send once the generation has ended. */
  end(result: GenerationResult): unknown[];
  /** How an error after the headers went out is reported in-band. */
  error(error: HttpError): unknown;
}

/**
 * Streams a generation: waits until it has started (so a full queue or a bad grammar still
 * gets a real status code), then commits to a 200 stream and writes each delta as the framing
 * says; a failure later on is reported inside the stream, as OpenAI and Ollama do.
 */
export async function streamGeneration(request: FastifyRequest, reply: FastifyReply, stream: GenerationStream, framing: StreamFraming): Promise<FastifyReply> {
  await stream.started;
  startStream(reply, framing.contentType);
  const send = (items: unknown[]) => {
    for (const item of items) framing.write(reply, item);
  };
  try {
    send(framing.start?.() ?? []);
    for await (const delta of stream) send(framing.delta(delta));
    const result = await stream.result;
    recordAudit(request, { usage: result.usage });
    send(framing.end(result));
  } catch (error) {
    const httpError = toHttpError(toMardukError(error));
    framing.write(reply, framing.error(httpError));
    recordAudit(request, { status: httpError.status });
  } finally {
    endStream(reply);
  }
  return reply;
}
