import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyScope } from "../../../shared/contract/server.js";
import { recordAudit } from "../auditContext.js";
import { openAiError } from "../apiErrors.js";
import { errorBodyForUrl } from "../errorDialect.js";
import { apiKeyFromHeaders, ApiKeyVerifier } from "./ApiKeyVerifier.js";
import { isAllowedHost, isSameOrigin } from "./hostNames.js";

/**
 * Access settings that change while the server runs (keys created and revoked in the app,
 * CORS origins set in it); read on every request, on top of the fixed options.
 */
export interface LiveApiAccess {
  /** More exact origins allowed to call the API from a browser. */
  corsOrigins(): readonly string[];
  /** True when requests need a key even if no fixed `apiKeys` are configured. */
  keysRequired(): boolean;
  /** The key equal to `candidate` (compared in constant time): its id and scope; else undefined. */
  verifyKey(candidate: string | undefined): { id: string; scope: ApiKeyScope; localOnly?: boolean } | undefined;
  /**
   * Calls `onRevoked` once when the key `id` is revoked, or soon after this call if it no
   * longer exists (it was revoked while its request was on its way). Returns the unsubscribe.
   */
  watchKey(id: string, onRevoked: () => void): () => void;
}

/** The API key a request was authenticated with (see {@link authenticatedKeyOf}). */
export interface AuthenticatedKey {
  /** The key's id in the audit log: its fingerprint (keys given at start) or its id (keys made in the app). */
  id: string;
  scope: ApiKeyScope;
  /** A `--local-only-key`: its requests never leave this machine. */
  localOnly: boolean;
  /**
   * Calls `listener` once when the key is revoked; keys given at start (`--api-key`,
   * `--local-only-key`) never are. Returns the unsubscribe.
   */
  onRevoked(listener: () => void): () => void;
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
    /** The scope a key needs for this route (when keys are required). Default: `inference`. */
    requiredScope?: ApiKeyScope;
  }
}

/** Prefix of the `Sec-WebSocket-Protocol` entry that carries a key (see RPC_KEY_PROTOCOL_PREFIX). */
const KEY_PROTOCOL_PREFIX = "marduk-key.";

/** Default of {@link SecurityOptions.requestTimeoutMs}. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

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
  /**
   * Operator keys, with the `admin` scope (the HTTP API and the app over `/rpc`); when any key
   * exists, every route but `/health` needs one. Default: none.
   */
  apiKeys?: readonly string[];
  /** Extra host names (besides localhost and IP literals) accepted in the Host header. Default: none. */
  allowedHosts?: readonly string[];
  /** Exact origins (e.g. `https://app.example.com`) that may call the API from a browser. Default: none. */
  corsOrigins?: readonly string[];
  /** Keys and origins managed in the app, read per request. Default: none. */
  liveAccess?: LiveApiAccess;
  /**
   * More keys, with the `inference` scope (the HTTP API only), whose requests never leave this
   * machine (the router serves them locally or refuses). Default: none.
   */
  localOnlyApiKeys?: readonly string[];
  /**
   * Longest time a client may take to send a whole request, headers and body; a slower one gets
   * 408 and is disconnected, and a connection that sends no request at all within this time is
   * closed. Responses are not limited (streams run as long as they need). Default: 30000 ms.
   */
  requestTimeoutMs?: number;
}

/**
 * Routes reachable without an API key, and the fields of their JSON answer that a caller
 * without a valid key sees while keys are required (the rest is for key holders).
 */
const PUBLIC_ROUTE_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([["/health", ["status", "version"]]]);

const authenticatedKeys = new WeakMap<FastifyRequest, AuthenticatedKey>();

/** The API key that authenticated `request`; undefined when none was needed (or none was valid on a public route). */
export function authenticatedKeyOf(request: FastifyRequest): AuthenticatedKey | undefined {
  return authenticatedKeys.get(request);
}

/** True when a key of scope `granted` may use a route that needs `required` (admin may do everything). */
export function scopeAllows(granted: ApiKeyScope, required: ApiKeyScope): boolean {
  return granted === "admin" || granted === required;
}

const neverRevoked = (): (() => void) => () => undefined;

function deny(request: FastifyRequest, reply: FastifyReply, status: number, message: string, code: string): FastifyReply {
  const body = errorBodyForUrl(request.url, { status, body: openAiError(status, message, code) });
  return reply.code(status).header("content-type", "application/json; charset=utf-8").send(body);
}

/** Only the listed fields of a JSON object payload; anything else becomes an empty object. */
function pickJsonFields(payload: string, fields: readonly string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return "{}";
  }
  if (typeof parsed !== "object" || parsed === null) return "{}";
  const source = parsed as Record<string, unknown>;
  return JSON.stringify(Object.fromEntries(fields.filter((field) => field in source).map((field) => [field, source[field]])));
}

/**
 * Closes connections that send no request within `timeoutMs` (Node's own header and request
 * timeouts only start with the first byte). The timer stops at the first request or upgrade.
 */
function closeSilentConnections(server: Server, timeoutMs: number): void {
  const waiting = new WeakSet<Socket>();
  server.on("connection", (socket: Socket) => {
    waiting.add(socket);
    // Without a 'timeout' listener on the server, Node's HTTP server destroys the socket.
    socket.setTimeout(timeoutMs);
  });
  const requestArrived = (request: { socket: Socket }): void => {
    if (waiting.delete(request.socket)) request.socket.setTimeout(0);
  };
  server.on("request", requestArrived);
  server.on("upgrade", requestArrived);
}

/**
 * Guards every request, before routing:
 * 1. Host allowlist against DNS rebinding (403); the header must be a plain `host[:port]`.
 * 2. Origin: a browser request from another origin (scheme, host and port) is refused unless
 *    listed in corsOrigins (403); listed origins get exact CORS headers, never a wildcard or a
 *    reflection of anything. This also stops cross-site form posts and WebSocket hijacking,
 *    whatever the content type.
 * 3. API key, compared in constant time (401), and its scope against the route's (403): fixed
 *    `apiKeys` are admin, `localOnlyApiKeys` inference, keys made in the app have their own.
 *    `/health` stays public, but shows callers without a valid key only its status and version.
 * Also cuts off clients that send requests too slowly (see `requestTimeoutMs`).
 */
export function registerSecurity(app: FastifyInstance, options: SecurityOptions): void {
  const allowedHosts = new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const corsOrigins = new Set(options.corsOrigins ?? []);
  const adminKeys = new ApiKeyVerifier(options.apiKeys ?? []);
  const localOnlyKeys = new ApiKeyVerifier(options.localOnlyApiKeys ?? []);
  const live = options.liveAccess;
  /** Requests to a public route from callers without a valid key, while keys are required. */
  const anonymousPublicRequests = new WeakMap<FastifyRequest, readonly string[]>();

  closeSilentConnections(app.server, options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);

  /** The key `candidate` is, if any. Every list is always checked, so timing does not tell which holds it. */
  const authenticate = (candidate: string | undefined): AuthenticatedKey | undefined => {
    const adminKeyId = adminKeys.verify(candidate);
    const localOnlyKeyId = localOnlyKeys.verify(candidate);
    const liveKey = live?.verifyKey(candidate);
    if (localOnlyKeyId) return { id: localOnlyKeyId, scope: "inference", localOnly: true, onRevoked: neverRevoked };
    if (adminKeyId) return { id: adminKeyId, scope: "admin", localOnly: false, onRevoked: neverRevoked };
    if (liveKey && live) return { id: liveKey.id, scope: liveKey.scope, localOnly: liveKey.localOnly === true, onRevoked: (listener) => live.watchKey(liveKey.id, listener) };
    return undefined;
  };

  app.addHook("onRequest", async (request, reply) => {
    const host = request.headers.host;
    if (!isAllowedHost(host, allowedHosts)) {
      return deny(request, reply, 403, `Host '${host ?? ""}' is not allowed. Add it with --allowed-host if you meant to use it.`, "host_not_allowed");
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== "null") {
      if (!isSameOrigin(origin, request.protocol, host)) {
        if (!corsOrigins.has(origin) && !(live?.corsOrigins().includes(origin) ?? false)) {
          return deny(request, reply, 403, `Origin '${origin}' is not allowed. Add it with --cors-origin to call the API from that page.`, "origin_not_allowed");
        }
        reply.header("access-control-allow-origin", origin);
        reply.header("vary", "Origin");
        if (request.method === "OPTIONS") {
          return reply
            .code(204)
            .header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS")
            .header("access-control-allow-headers", "authorization, content-type, x-api-key, openai-organization, openai-project, x-stainless-os, x-stainless-lang, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-arch, x-stainless-retry-count, x-stainless-timeout, anthropic-version, anthropic-beta, anthropic-dangerous-direct-browser-access, x-stainless-helper-method")
            .header("access-control-max-age", "600")
            .send();
        }
      }
    } else if (origin === "null") {
      return deny(request, reply, 403, "Requests from opaque origins are not allowed", "origin_not_allowed");
    }
    if (!adminKeys.enabled && !localOnlyKeys.enabled && !(live?.keysRequired() ?? false)) return undefined;

    const path = request.url.split("?")[0]!;
    const config = request.routeOptions.config;
    const publicFields = PUBLIC_ROUTE_FIELDS.get(path);
    const candidate = apiKeyFromHeaders(request.headers) ?? (config.keyInUrlOrProtocol ? apiKeyFromUpgrade(request) : undefined);
    const key = authenticate(candidate);
    if (key) {
      authenticatedKeys.set(request, key);
      recordAudit(request, { keyId: key.id, ...(key.localOnly ? { keyLocalOnly: true } : {}) });
    }
    if (publicFields) {
      if (!key) anonymousPublicRequests.set(request, publicFields);
      return undefined;
    }
    if (config.publicPath?.(path)) return undefined;
    if (!key) return deny(request, reply, 401, "Missing or invalid API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.", "invalid_api_key");
    const requiredScope = config.requiredScope ?? "inference";
    if (!scopeAllows(key.scope, requiredScope)) {
      return deny(
        request,
        reply,
        403,
        `This API key has the '${key.scope}' scope: ${path} needs an '${requiredScope}' key (serve's --api-key, or an admin key created in the app).`,
        "insufficient_scope",
      );
    }
    return undefined;
  });

  app.addHook("onSend", async (request, reply, payload) => {
    const fields = anonymousPublicRequests.get(request);
    if (!fields || typeof payload !== "string" || !String(reply.getHeader("content-type") ?? "").startsWith("application/json")) return payload;
    return pickJsonFields(payload, fields);
  });
}
