import type { AIRouting } from "./types.js";

// The header names are the server's (src/core/api/routingHeaders.ts); the SDK cannot import src/core,
// so they are repeated here and checked against the server by test/integration/clientSdk.test.ts.
export const PROVIDER_HEADER = "x-marduk-provider";

/** The request headers that carry routing hints. */
export function routingHeadersOf(routing: AIRouting | undefined): Record<string, string> {
  if (!routing) return {};
  return {
    ...(routing.localOnly ? { "x-marduk-local-only": "1" } : {}),
    ...(routing.session ? { "x-marduk-session": routing.session } : {}),
    ...(routing.cache === false ? { "x-marduk-cache": "off" } : {}),
  };
}
