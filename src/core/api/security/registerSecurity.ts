import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { recordAudit } from "../auditContext.js";
import { openAiError } from "../apiErrors.js";
import { apiKeyFromHeaders, ApiKeyVerifier } from "./ApiKeyVerifier.js";
import { isAllowedHost } from "./hostNames.js";

/** Security settings of the HTTP server. */
export interface SecurityOptions {
  /** API keys; when any is set, every route but `/health` needs one. Default: none. */
  apiKeys?: readonly string[];
  /** Extra host names (besides localhost and IP literals) accepted in the Host header. Default: none. */
  allowedHosts?: readonly string[];
  /** Exact origins (e.g. `https://app.example.com`) that may call the API from a browser. Default: none. */
  corsOrigins?: readonly string[];
}

/** Routes reachable without an API key. */
const PUBLIC_ROUTES = new Set(["/health"]);

function deny(request: FastifyRequest, reply: FastifyReply, status: number, message: string, code: string): FastifyReply {
  const body = request.url.startsWith("/api/") ? { error: message } : openAiError(status, message, code);
  return reply.code(status).header("content-type", "application/json; charset=utf-8").send(body);
}

/**
 * Guards every request, before routing:
 * 1. Host allowlist against DNS rebinding (403).
 * 2. Origin: a browser request from another origin is refused unless listed in corsOrigins
 *    (403); listed origins get exact CORS headers, never a wildcard or a reflection of anything.
 *    This also stops cross-site form posts and WebSocket hijacking, whatever the content type.
 * 3. API key, compared in constant time (401).
 */
export function registerSecurity(app: FastifyInstance, options: SecurityOptions): ApiKeyVerifier {
  const allowedHosts = new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const corsOrigins = new Set(options.corsOrigins ?? []);
  const verifier = new ApiKeyVerifier(options.apiKeys ?? []);

  app.addHook("onRequest", async (request, reply) => {
    const host = request.headers.host;
    if (!isAllowedHost(host, allowedHosts)) {
      return deny(request, reply, 403, `Host '${host ?? ""}' is not allowed. Add it with --allowed-host if you meant to use it.`, "host_not_allowed");
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== "null") {
      const sameOrigin = URL.canParse(origin) && new URL(origin).host.toLowerCase() === host!.toLowerCase();
      if (!sameOrigin) {
        if (!corsOrigins.has(origin)) {
          return deny(request, reply, 403, `Origin '${origin}' is not allowed. Add it with --cors-origin to call the API from that page.`, "origin_not_allowed");
        }
        reply.header("access-control-allow-origin", origin);
        reply.header("vary", "Origin");
        if (request.method === "OPTIONS") {
          return reply
            .code(204)
            .header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
            .header("access-control-allow-headers", "authorization, content-type, x-api-key, openai-organization, openai-project, x-stainless-os, x-stainless-lang, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-arch, x-stainless-retry-count, x-stainless-timeout")
            .header("access-control-max-age", "600")
            .send();
        }
      }
    } else if (origin === "null") {
      return deny(request, reply, 403, "Requests from opaque origins are not allowed", "origin_not_allowed");
    }
    if (verifier.enabled && !PUBLIC_ROUTES.has(request.url.split("?")[0]!)) {
      const keyId = verifier.verify(apiKeyFromHeaders(request.headers));
      if (!keyId) {
        return deny(request, reply, 401, "Missing or invalid API key. Send it as 'Authorization: Bearer <key>'.", "invalid_api_key");
      }
      recordAudit(request, { keyId });
    }
    return undefined;
  });
  return verifier;
}
