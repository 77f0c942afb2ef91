import type { FastifyReply } from "fastify";
import type { GenerationResult } from "../../../shared/api/generation.js";
import type { HttpError } from "../apiErrors.js";
import type { StreamFraming } from "../streamGeneration.js";
import { responseObject, statusOf, type ResponseHeader, type WireObject } from "./responseObjects.js";
import type { ResponseOutputBuilder } from "./ResponseOutputBuilder.js";

/** Writes Responses API events as named server-sent events (`event: <type>` then `data:`), one or a list of them. */
function writeResponseEvents(reply: FastifyReply, data: unknown): void {
  for (const event of Array.isArray(data) ? (data as WireObject[]) : [data as WireObject]) {
    if (reply.raw.writableEnded || reply.raw.destroyed) return;
    reply.raw.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
  }
}

/**
 * The Responses API's event stream: response.created and response.in_progress, the output
 * items' events as they grow, then response.completed (or response.incomplete when out of
 * tokens); a failure after the start is an `error` event and response.failed. Every event
 * carries its `sequence_number`. `finished` builds (and stores) the final response.
 */
export function responseStreamFraming(
  header: ResponseHeader,
  builder: ResponseOutputBuilder,
  finished: (result: GenerationResult) => WireObject,
): StreamFraming {
  let sequence = 0;
  const numbered = (events: WireObject[]) => events.map((event) => ({ ...event, sequence_number: sequence++ }));
  return {
    contentType: "text/event-stream; charset=utf-8",
    write: writeResponseEvents,
    start: () =>
      numbered([
        { type: "response.created", response: responseObject(header, { status: "in_progress", output: [] }) },
        { type: "response.in_progress", response: responseObject(header, { status: "in_progress", output: [] }) },
      ]),
    delta: (delta) => numbered(builder.delta(delta)),
    end: (result) => {
      const events = builder.finish(result);
      const response = finished(result);
      return numbered([...events, { type: statusOf(result) === "incomplete" ? "response.incomplete" : "response.completed", response }]);
    },
    error: (httpError: HttpError) => {
      const { code, message, param } = httpError.body.error;
      const failed = responseObject(header, { status: "failed", output: builder.output, error: { code: code ?? "server_error", message } });
      return numbered([
        { type: "error", code, message, param },
        { type: "response.failed", response: failed },
      ]);
    },
  };
}
