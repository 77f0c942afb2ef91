import fastifyWebsocket from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import type { MardukApi } from "../../shared/contract/index.js";
import { createRpcServer, type RpcServer } from "../../shared/rpc/createRpcServer.js";
import { createWebSocketTransport, RPC_CLOSE_CODES, RPC_WEBSOCKET_PATH, RPC_WEBSOCKET_PROTOCOL } from "../../shared/rpc/webSocketTransport.js";
import type { Logger } from "../logger.js";
import { recordAudit } from "./auditContext.js";
import { authenticatedKeyOf } from "./security/registerSecurity.js";
import { isSameOrigin } from "./security/hostNames.js";

/** Options of {@link registerRpcWebSocket}. */
export interface RpcWebSocketOptions {
  /** The contract served to each connection. */
  api: MardukApi;
  logger: Logger;
  /** Largest message a client may send; bigger ones close the connection (1009). Default: 4 MiB. */
  maxMessageBytes?: number;
  /**
   * Connections at once. When they are all taken, a new connection (one that passed the guards)
   * replaces an existing one instead of being refused, so a UI can always connect: the quietest
   * connection of the client that holds the most (idle ones before busy ones), closed with 1013.
   * A client is an API key, or an address when no key is needed. Default: 32.
   */
  maxConnections?: number;
  /** A connection that does not answer a ping within this time is dropped. Default: 30000 ms. */
  heartbeatMs?: number;
  /**
   * A connection that sends nothing, holds no subscription and runs no call for this long is
   * closed (4408). The UI always holds subscriptions, so only unused sockets time out.
   * Default: 120000 ms.
   */
  idleTimeoutMs?: number;
}

export const DEFAULT_RPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_RPC_MAX_CONNECTIONS = 32;
export const DEFAULT_RPC_IDLE_TIMEOUT_MS = 120_000;

/** One open RPC connection. */
interface RpcSession {
  /** Who opened it: `key:<key id>`, or `address:<ip>` when no key was needed. */
  client: string;
  server: RpcServer;
  /** When the client last sent a message (or connected). */
  lastMessageAt: number;
  /** Stops serving at once, then closes the socket with `code`. */
  end(code: number, reason: string): void;
}

/**
 * The RPC controls the whole app (keys, server settings, models), so browsers may only reach it
 * from the UI this server serves: origins listed for CORS may call the API, not this.
 * Clients that send no Origin (not browsers) are subject to the key check alone.
 */
async function sameOriginOnly(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin = request.headers.origin;
  if (origin === undefined || isSameOrigin(origin, request.protocol, request.headers.host)) return;
  await reply.code(403).send({ error: { message: `Origin '${origin}' may not open the app's RPC socket`, type: "permission_error", param: null, code: "origin_not_allowed" } });
}

/**
 * The session to close for a new one when every place is taken: of the client with the most
 * sessions, an idle one before a busy one, the one whose client has been quiet longest.
 */
function sessionToReplace(sessions: Iterable<RpcSession>): RpcSession | undefined {
  const all = [...sessions];
  const perClient = new Map<string, number>();
  for (const session of all) perClient.set(session.client, (perClient.get(session.client) ?? 0) + 1);
  const rank = (session: RpcSession): [number, number, number] => [-perClient.get(session.client)!, session.server.busy ? 1 : 0, session.lastMessageAt];
  let chosen: RpcSession | undefined;
  for (const session of all) {
    if (!chosen) {
      chosen = session;
      continue;
    }
    const [a, b] = [rank(session), rank(chosen)];
    const order = a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
    if (order < 0) chosen = session;
  }
  return chosen;
}

/**
 * The contract over a WebSocket at `/rpc` (the browser UI's transport): one RPC server per
 * connection, disposed when it closes. The upgrade request passes the same onRequest guards as
 * every route (Host allowlist, Origin, API key) and needs an `admin` key when keys are required;
 * browsers must come from this server's own origin (see sameOriginOnly). As browsers cannot
 * set headers on a WebSocket, this route also takes the key from `?key=` or a
 * `marduk-key.<key>` sub-protocol (offered together with `marduk-rpc`, which the server selects).
 * A connection opened with a key that is then revoked is closed at once (4401); see
 * {@link RpcWebSocketOptions} for the connection limit, heartbeat and idle timeout.
 * A plain HTTP GET of `/rpc` gets 426 once past the guards (the UI asks it why a socket failed).
 *
 * Must be registered before the other routes (it intercepts upgrade requests to any route).
 */
export async function registerRpcWebSocket(app: FastifyInstance, options: RpcWebSocketOptions): Promise<void> {
  const maxConnections = options.maxConnections ?? DEFAULT_RPC_MAX_CONNECTIONS;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_RPC_IDLE_TIMEOUT_MS;
  const log = options.logger.child({ component: "rpc" });
  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: options.maxMessageBytes ?? DEFAULT_RPC_MAX_MESSAGE_BYTES,
      // Select the RPC's protocol, never echo the others (one of them may carry the key).
      handleProtocols: (protocols: Set<string>) => (protocols.has(RPC_WEBSOCKET_PROTOCOL) ? RPC_WEBSOCKET_PROTOCOL : false),
    },
  });

  // An upgrade refused by a guard (403, 401) got an HTTP answer on a socket the HTTP server no
  // longer tracks: close it, or it would linger (and hold up the server's shutdown).
  app.addHook("onResponse", async (request) => {
    if (request.headers.upgrade?.toLowerCase() === "websocket" && !request.raw.socket.destroyed) request.raw.socket.destroy();
  });

  const sessions = new Set<RpcSession>();
  app.route({
    method: "GET",
    url: RPC_WEBSOCKET_PATH,
    config: { keyInUrlOrProtocol: true, requiredScope: "admin" },
    onRequest: sameOriginOnly,
    handler: async (_request, reply) =>
      reply.code(426).header("upgrade", "websocket").send({ error: { message: `${RPC_WEBSOCKET_PATH} is a WebSocket`, type: "invalid_request_error", param: null, code: "upgrade_required" } }),
    wsHandler: (socket: WebSocket, request) => {
      const key = authenticatedKeyOf(request);
      const client = key ? `key:${key.id}` : `address:${request.ip}`;
      if (sessions.size >= maxConnections) {
        const replaced = sessionToReplace(sessions);
        log.info({ requestId: request.id, replacedClient: replaced?.client }, "RPC connection limit reached: replacing the quietest connection");
        replaced?.end(RPC_CLOSE_CODES.replaced, "Replaced by a newer connection");
      }
      // The audit log records the upgrade as such, not as a dropped request when the socket closes.
      recordAudit(request, { status: 101 });
      const transport = createWebSocketTransport(socket);
      const server = createRpcServer(options.api, transport, {
        onUnexpectedError: (error, context) => log.error({ err: error, context, requestId: request.id }, "RPC call failed"),
      });
      let ended = false;
      const session: RpcSession = {
        client,
        server,
        lastMessageAt: Date.now(),
        end(code, reason) {
          if (ended) return;
          ended = true;
          // Nothing more is served from here on, whatever the peer does with the close frame.
          server.dispose();
          sessions.delete(session);
          try {
            socket.close(code, reason);
          } catch {
            socket.terminate();
          }
        },
      };
      sessions.add(session);
      socket.on("message", () => (session.lastMessageAt = Date.now()));

      const stopWatchingKey = key?.onRevoked(() => {
        log.info({ requestId: request.id, keyId: key.id }, "API key revoked: closing its RPC connection");
        session.end(RPC_CLOSE_CODES.keyRevoked, "API key revoked");
      });

      let alive = true;
      socket.on("pong", () => (alive = true));
      const heartbeat = setInterval(() => {
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, heartbeatMs);
      heartbeat.unref();

      let idleTimer: NodeJS.Timeout | undefined;
      const checkIdle = (): void => {
        const quietMs = Date.now() - session.lastMessageAt;
        if (!server.busy && quietMs >= idleTimeoutMs) {
          session.end(RPC_CLOSE_CODES.idle, "Idle for too long");
          return;
        }
        idleTimer = setTimeout(checkIdle, server.busy ? idleTimeoutMs : idleTimeoutMs - quietMs);
        idleTimer.unref();
      };
      idleTimer = setTimeout(checkIdle, idleTimeoutMs);
      idleTimer.unref();

      socket.on("error", (error) => log.debug({ err: error, requestId: request.id }, "RPC socket error"));
      socket.once("close", () => {
        clearInterval(heartbeat);
        clearTimeout(idleTimer);
        stopWatchingKey?.();
        ended = true;
        sessions.delete(session);
        server.dispose();
      });
      log.debug({ requestId: request.id, connections: sessions.size }, "RPC client connected");
    },
  });
}
