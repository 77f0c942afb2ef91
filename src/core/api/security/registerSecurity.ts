import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { recordAudit } from "../auditContext.js";
import { openAiError } from "../apiErrors.js";
import { apiKeyFromHeaders, apiKeyId, ApiKeyVerifier } from "./ApiKeyVerifier.js";
import { isAllowedHost } from "./hostNames.js";

/**
 * Access settings that change while the server runs (keys created and revoked in the app,
 * CORS origins set in it); read on every request, on top of the fixed options.
 */
export interface LiveApiAccess {
  /** More exact origins allowed to call the API from a browser. */
  corsOrigins(): readonly string[];
  /** True when requests need a key even if no fixed `apiKeys` are configured. */
  keysRequired(): boolean;
  /** The id of the key equal to `candidate` (compared in constant time), else undefined. */
  verifyKey(candidate: string | undefined): string | undefined;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** Reachable without an API key when it returns true for the request's path (the UI's static files). */
    publicPath?: (path: string) => boolean;
    /**
     * Also accepts the API key as a `key` query parameter or a `Sec-WebSocket-Protocol` entry
     * `marduk-key.<key>`: browsers cannot set headers on a WebSocket.
     */
    keyInUrlOrProtocol?: boolean;
  }
}

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries a key (see RPC_KEY_PROTOCOL_PREFIX). */
const KEY_PROTOCOL_PREFIX = "marduk-key.";

/** The key a browser's WebSocket upgrade carries: `?key=` or a `marduk-key.<key>` sub-protocol. */
function apiKeyFromUpgrade(request: FastifyRequest): string | undefined {
  const protocols = request.headers["sec-websocket-protocol"];
  if (typeof protocols === "string") {
    for (const entry of protocols.split(",")) {
      const value = entry.trim();
      if (value.startsWith(KEY_PROTOCOL_PREFIX) && value.length > KEY_PROTOCOL_PREFIX.length) return value.slice(KEY_PROTOCOL_PREFIX.length);
    }
  }
  const query = request.url.indexOf("?");
  if (query < 0) return undefined;
  return new URLSearchParams(request.url.slice(query + 1)).get("key") ?? undefined;
}

/** A URL with the value of any `key` query parameter replaced, for logs. */
export function redactKeyParameter(url: string): string {
  return url.replace(/([?&]key=)[^&#]*/gi, "$1[redacted]");
}

/** Fastify's request log fields without API keys (a WebSocket upgrade may carry one as `?key=`). */
export function redactedRequestLog(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: redactKeyParameter(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort };
}

/** Security settings of the HTTP server. */
export interface SecurityOptions {
  /** API keys; when any is set, every route but `/health` needs one. Default: none. */
  apiKeys?: readonly string[];
  /** Extra host names (besides localhost and IP literals) accepted in the Host header. Default: none. */
  allowedHosts?: readonly string[];
  /** Exact origins (e.g. `https://app.example.com`) that may call the API from a browser. Default: none. */
  corsOrigins?: readonly string[];
  /** Keys and origins managed in the app, read per request. Default: none. */
  liveAccess?: LiveApiAccess;
  /**
   * More keys, accepted like `apiKeys`, whose requests never leave this machine (the router
   * serves them locally or refuses). Default: none.
   */
  localOnlyApiKeys?: readonly string[];
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
  const verifier = new ApiKeyVerifier([...(options.apiKeys ?? []), ...(options.localOnlyApiKeys ?? [])]);
  const localOnlyKeyIds = new Set((options.localOnlyApiKeys ?? []).filter((key) => key.length > 0).map(apiKeyId));
  const live = options.liveAccess;

  app.addHook("onRequest", async (request, reply) => {
    const host = request.headers.host;
    if (!isAllowedHost(host, allowedHosts)) {
      return deny(request, reply, 403, `Host '${host ?? ""}' is not allowed. Add it with --allowed-host if you meant to use it.`, "host_not_allowed");
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== "null") {
      const sameOrigin = URL.canParse(origin) && new URL(origin).host.toLowerCase() === host!.toLowerCase();
      if (!sameOrigin) {
        if (!corsOrigins.has(origin) && !(live?.corsOrigins().includes(origin) ?? false)) {
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
    const path = request.url.split("?")[0]!;
    const config = request.routeOptions.config;
    const isPublic = PUBLIC_ROUTES.has(path) || (config.publicPath?.(path) ?? false);
    if ((verifier.enabled || (live?.keysRequired() ?? false)) && !isPublic) {
      const candidate = apiKeyFromHeaders(request.headers) ?? (config.keyInUrlOrProtocol ? apiKeyFromUpgrade(request) : undefined);
      // Both checks always run (each in constant time), so timing does not tell which list holds a key.
      const fixedKeyId = verifier.verify(candidate);
      const liveKeyId = live?.verifyKey(candidate);
      const keyId = fixedKeyId ?? liveKeyId;
      if (!keyId) {
        return deny(request, reply, 401, "Missing or invalid API key. Send it as 'Authorization: Bearer <key>'.", "invalid_api_key");
      }
      recordAudit(request, { keyId, ...(localOnlyKeyIds.has(keyId) ? { keyLocalOnly: true } : {}) });
    }
    return undefined;
  });
  return verifier;
}
