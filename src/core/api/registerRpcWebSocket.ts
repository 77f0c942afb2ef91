import fastifyWebsocket from "@fastify/websocket";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import type { MardukApi } from "../../shared/contract/index.js";
import { createRpcServer } from "../../shared/rpc/createRpcServer.js";
import { createWebSocketTransport, RPC_WEBSOCKET_PATH, RPC_WEBSOCKET_PROTOCOL } from "../../shared/rpc/webSocketTransport.js";
import type { Logger } from "../logger.js";
import { recordAudit } from "./auditContext.js";

/** Options of {@link registerRpcWebSocket}. */
export interface RpcWebSocketOptions {
  /** The contract served to each connection. */
  api: MardukApi;
  logger: Logger;
  /** Largest message a client may send; bigger ones close the connection (1009). Default: 4 MiB. */
  maxMessageBytes?: number;
  /** Connections at once; more are closed at once (1013). Default: 32. */
  maxConnections?: number;
  /** A connection that does not answer a ping within this time is dropped. Default: 30000 ms. */
  heartbeatMs?: number;
}

export const DEFAULT_RPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The RPC controls the whole app (keys, server settings, models), so browsers may only reach it
 * from the UI this server serves: origins listed for CORS may call the API, not this.
 * Clients that send no Origin (not browsers) are subject to the key check alone.
 */
async function sameOriginOnly(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host?.toLowerCase();
  if (URL.canParse(origin) && new URL(origin).host.toLowerCase() === host) return;
  await reply.code(403).send({ error: { message: `Origin '${origin}' may not open the app's RPC socket`, type: "permission_error", param: null, code: "origin_not_allowed" } });
}

/**
 * The contract over a WebSocket at `/rpc` (the browser UI's transport): one RPC server per
 * connection, disposed when it closes. The upgrade request passes the same onRequest guards as
 * every route (Host allowlist, Origin, API key), and browsers must come from this server's own
 * origin (see sameOriginOnly); as browsers cannot set headers on a WebSocket,
 * this route also takes the key from `?key=` or a `marduk-key.<key>` sub-protocol (offered
 * together with `marduk-rpc`, which the server selects).
 *
 * Must be registered before the other routes (it intercepts upgrade requests to any route).
 */
export async function registerRpcWebSocket(app: FastifyInstance, options: RpcWebSocketOptions): Promise<void> {
  const maxConnections = options.maxConnections ?? 32;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
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

  const connections = new Set<WebSocket>();
  app.get(RPC_WEBSOCKET_PATH, { websocket: true, config: { keyInUrlOrProtocol: true }, onRequest: sameOriginOnly }, (socket, request) => {
    if (connections.size >= maxConnections) {
      socket.close(1013, "Too many connections");
      return;
    }
    connections.add(socket);
    // The audit log records the upgrade as such, not as a dropped request when the socket closes.
    recordAudit(request, { status: 101 });
    const transport = createWebSocketTransport(socket);
    const server = createRpcServer(options.api, transport, {
      onUnexpectedError: (error, context) => log.error({ err: error, context, requestId: request.id }, "RPC call failed"),
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
    socket.on("error", (error) => log.debug({ err: error, requestId: request.id }, "RPC socket error"));
    socket.once("close", () => {
      clearInterval(heartbeat);
      connections.delete(socket);
      server.dispose();
    });
    log.debug({ requestId: request.id, connections: connections.size }, "RPC client connected");
  });
}
