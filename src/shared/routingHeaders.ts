/**
 * The `x-marduk-*` header names of the HTTP API, one list for the server (src/core/api/routingHeaders.ts)
 * and the client SDK (src/client/routingHeaders.ts). Header names are lower case, as Node reports them.
 */

/** Request headers that steer routing (every dialect reads the same ones). */
export const ROUTING_HEADERS = {
  /** "1"/"true": the request must never leave this machine. */
  localOnly: "x-marduk-local-only",
  /** A conversation or session id that keeps the conversation on one target (its prompt cache stays warm). */
  session: "x-marduk-session",
  /** "off"/"no"/"false": do not answer from (or store in) the response cache. */
  cache: "x-marduk-cache",
} as const;

/** Response headers that name who served a response. */
export const SERVED_BY_HEADERS = {
  /** "local" or the id of the remote provider that answered. */
  provider: "x-marduk-provider",
  /** The model that answered (URI-encoded, `/` kept). */
  model: "x-marduk-model",
  /** The response cache's verdict, on cacheable requests only. */
  cache: "x-marduk-cache",
  /** "estimate" on a token count that is not exact (a remote target counted roughly). */
  tokenCount: "x-marduk-token-count",
} as const;
