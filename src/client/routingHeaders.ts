import { ROUTING_HEADERS, SERVED_BY_HEADERS } from "../shared/routingHeaders.js";
import type { AIRouting } from "./types.js";

/** The response header that names who served a response ("local" or a remote provider id). */
export const PROVIDER_HEADER = SERVED_BY_HEADERS.provider;

/** The request headers that carry routing hints. */
export function routingHeadersOf(routing: AIRouting | undefined): Record<string, string> {
  if (!routing) return {};
  return {
    ...(routing.localOnly ? { [ROUTING_HEADERS.localOnly]: "1" } : {}),
    ...(routing.session ? { [ROUTING_HEADERS.session]: routing.session } : {}),
    ...(routing.cache === false ? { [ROUTING_HEADERS.cache]: "off" } : {}),
  };
}
