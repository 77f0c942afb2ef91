import { parseRpcMessage } from "./parseRpcMessage.js";
import type { RpcTransport } from "./protocol.js";
import { createTransportListeners } from "./transportListeners.js";

/**
 * What the transport needs of a WebSocket: the browser's `WebSocket` and the `ws` package's
 * both fit (text frames arrive as strings through `addEventListener("message")`).
 */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "close" | "error" | "message", listener: (event: object) => void): void;
  removeEventListener(type: "open" | "close" | "error" | "message", listener: (event: object) => void): void;
}

/** The sub-protocol the RPC speaks; clients offer it, the server selects it. */
export const RPC_WEBSOCKET_PROTOCOL = "marduk-rpc";

/**
 * Prefix of the sub-protocol that carries an API key from a browser, which cannot set headers
 * on a WebSocket: `new WebSocket(url, [RPC_WEBSOCKET_PROTOCOL, RPC_KEY_PROTOCOL_PREFIX + key])`.
 */
export const RPC_KEY_PROTOCOL_PREFIX = "marduk-key.";

/** The path of the RPC WebSocket on the API server. */
export const RPC_WEBSOCKET_PATH = "/rpc";

/** Close codes the server ends an RPC socket with (4xxx: the application's own, after HTTP statuses). */
export const RPC_CLOSE_CODES = {
  /** The API key the connection was opened with was revoked: a new key is needed. */
  keyRevoked: 4401,
  /** Nothing happened on the connection for the server's idle timeout. */
  idle: 4408,
  /** A newer connection took this one's place (the server's connection limit). */
  replaced: 1013,
} as const;

const CONNECTING = 0;
const OPEN = 1;

/** Close codes (RFC 6455). */
const CLOSE_NORMAL = 1000;
const CLOSE_UNSUPPORTED_DATA = 1003;
const CLOSE_INVALID_PAYLOAD = 1007;
const CLOSE_POLICY_VIOLATION = 1008;

/** Options of {@link createWebSocketTransport}. */
export interface WebSocketTransportOptions {
  /**
   * When more than this many bytes wait to be sent (a peer that stopped reading), the socket
   * is closed instead of buffering without bound. Default: 64 MiB.
   */
  maxBufferedBytes?: number;
}

/**
 * An {@link RpcTransport} over a WebSocket: one JSON text frame per message. Messages sent
 * while the socket is still connecting are queued until it opens; frames that are not JSON
 * close the socket (1007), binary frames too (1003), and envelopes that are not RPC messages
 * are dropped. `close()` closes the socket; the transport reports the close of either side once.
 */
export function createWebSocketTransport(socket: WebSocketLike, options: WebSocketTransportOptions = {}): RpcTransport {
  const maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
  const listeners = createTransportListeners();
  let queued: string[] = [];
  let closed = false;

  const closeSocket = (code: number, reason: string): void => {
    try {
      socket.close(code, reason);
    } catch {
      // Already closing.
    }
  };

  const onOpen = (): void => {
    const waiting = queued;
    queued = [];
    for (const text of waiting) socket.send(text);
  };

  const onMessage = (event: object): void => {
    if (closed) return;
    const data = (event as { data?: unknown }).data;
    if (typeof data !== "string") {
      closeSocket(CLOSE_UNSUPPORTED_DATA, "Text frames only");
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      closeSocket(CLOSE_INVALID_PAYLOAD, "Frames must be JSON");
      return;
    }
    const message = parseRpcMessage(parsed);
    if (message) listeners.deliver(message);
  };

  const onClose = (): void => {
    if (closed) return;
    closed = true;
    queued = [];
    socket.removeEventListener("open", onOpen);
    socket.removeEventListener("message", onMessage);
    socket.removeEventListener("close", onClose);
    listeners.closed();
  };

  socket.addEventListener("open", onOpen);
  socket.addEventListener("message", onMessage);
  socket.addEventListener("close", onClose);
  if (socket.readyState > OPEN) queueMicrotask(onClose);

  return {
    send(message) {
      if (closed) return;
      const text = JSON.stringify(message);
      if (socket.readyState === CONNECTING) {
        queued.push(text);
        return;
      }
      if (socket.readyState !== OPEN) return;
      if (socket.bufferedAmount > maxBufferedBytes) {
        closeSocket(CLOSE_POLICY_VIOLATION, "The peer does not read its messages");
        return;
      }
      socket.send(text);
    },
    onMessage: listeners.onMessage,
    onClose: listeners.onClose,
    close() {
      closeSocket(CLOSE_NORMAL, "");
    },
  };
}
