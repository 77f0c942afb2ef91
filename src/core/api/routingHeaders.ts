import type { FastifyReply, FastifyRequest } from "fastify";
import type { RoutingHints, ServedBy } from "../inference/inferenceTypes.js";
import { ROUTING_HEADERS, SERVED_BY_HEADERS } from "../../shared/routingHeaders.js";
import { auditDetails } from "./auditContext.js";

const isOn = (value: unknown) => typeof value === "string" && /^(1|true|yes|on)$/i.test(value.trim());
const isOff = (value: unknown) => typeof value === "string" && /^(0|false|no|off|bypass)$/i.test(value.trim());

/** What a request's body may say about routing (OpenAI's `user` and `prompt_cache_key`, our `cache`). */
export interface RoutingBodyFields {
  user?: string | null;
  prompt_cache_key?: string | null;
  cache?: boolean | null;
}

/**
 * The routing hints of a request: local-only from the header (or the API key's setting),
 * stickiness from the session header, `prompt_cache_key`, `user` or else the API key, and the
 * cache switch from the body or the headers (`Cache-Control: no-cache` too).
 */
export function routingHintsOf(request: FastifyRequest, body: RoutingBodyFields = {}): RoutingHints {
  const headers = request.headers;
  const { keyId, keyLocalOnly } = auditDetails(request);
  const session = headers[ROUTING_HEADERS.session];
  const sticky = (typeof session === "string" && session) || body.prompt_cache_key || body.user || keyId;
  const cacheControl = headers["cache-control"];
  const cacheOff = body.cache === false || isOff(headers[ROUTING_HEADERS.cache]) || (typeof cacheControl === "string" && /no-(cache|store)/i.test(cacheControl));
  const localOnly = isOn(headers[ROUTING_HEADERS.localOnly]) || keyLocalOnly === true;
  return {
    ...(localOnly ? { localOnly: true } : {}),
    ...(sticky ? { stickyKey: String(sticky).slice(0, 1024) } : {}),
    ...(cacheOff ? { cache: false } : {}),
    ...(keyId ? { apiKeyFingerprint: keyId } : {}),
  };
}

/** Names who served a response: `x-marduk-provider`, `x-marduk-model`, and `x-marduk-cache` for cacheable requests. */
export function announceServedBy(reply: FastifyReply, served: ServedBy): void {
  reply.header(SERVED_BY_HEADERS.provider, served.provider);
  // Header values must be Latin-1 without line breaks; model ids are checked by the library, remote ones are not.
  reply.header(SERVED_BY_HEADERS.model, encodeURIComponent(served.modelId).replace(/%2F/g, "/"));
  if (served.cache) reply.header(SERVED_BY_HEADERS.cache, served.cache);
}
