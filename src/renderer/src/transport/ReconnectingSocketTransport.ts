import { parseRpcMessage } from "../../../shared/rpc/parseRpcMessage.js";
import type { RpcMessage, RpcTransport } from "../../../shared/rpc/protocol.js";
import { RPC_CLOSE_CODES, type WebSocketLike } from "../../../shared/rpc/webSocketTransport.js";

export type ConnectionStatus =
  /** The first connection is being made. */
  | "connecting"
  | "connected"
  /** The connection dropped (or could not be made); another attempt is scheduled. */
  | "reconnecting"
  /** The server refused the API key (or asked for one); waits for `setUrl` or `reconnect`. */
  | "unauthorized"
  /** `close()` was called. */
  | "closed";

/**
 * Why a socket could not open, as the server tells over plain HTTP (a browser does not say why
 * an upgrade failed): no valid key, a valid key without the `admin` scope the app needs, or
 * anything else (the server is down, restarting, ...).
 */
export type ConnectionDiagnosis = "unauthorized" | "admin_key_required" | "unreachable";

export interface ConnectionInfo {
  status: ConnectionStatus;
  /** While unauthorized: the key given is valid but only for the HTTP API (`inference` scope). */
  adminKeyRequired?: boolean;
  /** Failed attempts since the last successful connection. */
  failures: number;
  /** When the next attempt happens (ms since the epoch), while reconnecting. */
  retryAt?: number;
}

/** Options of {@link ReconnectingSocketTransport}. */
export interface ReconnectingSocketOptions {
  /** Where to connect; read again before every attempt. */
  url: () => string;
  /** Opens a socket (the browser's `WebSocket`; tests pass a fake). */
  createSocket: (url: string) => WebSocketLike;
  /** First delay after a failure, ms. Default: 500. */
  initialDelayMs?: number;
  /** Longest delay, ms. Default: 10 000. */
  maxDelayMs?: number;
  /**
   * Asked after a connection failed before opening: "unauthorized" and "admin_key_required"
   * stop the retries until a new key is given. Default: never unauthorized.
   */
  diagnose?: () => Promise<ConnectionDiagnosis>;
  /** Status changes. */
  onStatus?: (info: ConnectionInfo) => void;
  /** Timers and clock. Default: the global ones. */
  setTimer?: (callback: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
}

function closeQuietly(socket: WebSocketLike, reason: string): void {
  try {
    socket.close(1000, reason);
  } catch {
    // already closing
  }
}

/**
 * WebSocket close codes the server may use to refuse a key (4401, mirroring HTTP 401, also ends
 * the sessions of a revoked key; 1008 is policy).
 */
const UNAUTHORIZED_CLOSE_CODES = new Set<number>([RPC_CLOSE_CODES.keyRevoked, 4001, 1008]);

/** The error given to calls that were on the wire when the connection dropped. */
const CONNECTION_LOST = { code: "internal_error", message: "The connection to Marduk Local was lost. Try again once it is back." } as const;

/**
 * An {@link RpcTransport} over a WebSocket that reconnects with exponential backoff, and
 * hides the reconnects from the RPC client:
 * - calls made while disconnected wait and go out when the socket opens;
 * - calls that were on the wire when it dropped fail (they may have run; resending could
 *   repeat a side effect);
 * - live subscriptions are sent again on every new socket, so events keep coming.
 * Listeners of `onClose` hear only the final `close()`.
 */
export class ReconnectingSocketTransport implements RpcTransport {
  private socket: WebSocketLike | undefined;
  private detachSocket: (() => void) | undefined;
  private open = false;
  private closed = false;
  private everConnected = false;
  private failures = 0;
  private timer: unknown;
  private retryAt: number | undefined;
  private status: ConnectionStatus = "connecting";
  /** Set with the "unauthorized" status when the key is valid but not an admin key. */
  private adminKeyRequired = false;
  /** Calls sent on the current socket and not answered yet. */
  private readonly inFlight = new Map<number, RpcMessage>();
  /** Calls waiting for a socket. */
  private queue: RpcMessage[] = [];
  /** Live subscriptions by id, sent again after a reconnect. */
  private readonly subscriptions = new Map<number, RpcMessage>();
  private readonly messageListeners = new Set<(message: RpcMessage) => void>();
  private readonly closeListeners = new Set<() => void>();
  private readonly setTimer: (callback: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly now: () => number;

  constructor(private readonly options: ReconnectingSocketOptions) {
    this.setTimer = options.setTimer ?? ((callback, ms) => setTimeout(callback, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.now = options.now ?? Date.now;
    this.connect();
  }

  get info(): ConnectionInfo {
    return {
      status: this.status,
      failures: this.failures,
      ...(this.retryAt !== undefined ? { retryAt: this.retryAt } : {}),
      ...(this.status === "unauthorized" && this.adminKeyRequired ? { adminKeyRequired: true } : {}),
    };
  }

  send(message: RpcMessage): void {
    if (this.closed) {
      if (message.type === "call") this.deliver({ type: "error", id: message.id, error: { code: "internal_error", message: "The connection is closed." } });
      return;
    }
    switch (message.type) {
      case "call":
        if (this.open) this.write(message);
        else this.queue.push(message);
        return;
      case "subscribe":
        this.subscriptions.set(message.id, message);
        if (this.open) this.write(message);
        return;
      case "unsubscribe":
        // A subscription the server never saw needs no unsubscribe.
        if (this.subscriptions.delete(message.id) && this.open) this.write(message);
        return;
      default:
        if (this.open) this.write(message);
    }
  }

  onMessage(listener: (message: RpcMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Drops the current socket (if any) and connects again now, e.g. with a new API key in the URL. */
  reconnect(): void {
    if (this.closed) return;
    this.cancelTimer();
    this.failures = 0;
    const socket = this.socket;
    if (socket) {
      this.detach();
      this.socket = undefined;
      this.open = false;
      closeQuietly(socket, "reconnect");
      this.dropInFlight();
    }
    this.connect();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelTimer();
    const socket = this.socket;
    if (socket) {
      this.detach();
      this.socket = undefined;
      closeQuietly(socket, "closed");
    }
    this.dropInFlight();
    for (const call of this.queue) this.deliver({ type: "error", id: call.id, error: { code: "internal_error", message: "The connection is closed." } });
    this.queue = [];
    this.setStatus("closed");
    for (const listener of [...this.closeListeners]) listener();
  }

  private connect(): void {
    if (this.closed) return;
    this.retryAt = undefined;
    this.setStatus(this.everConnected || this.failures > 0 ? "reconnecting" : "connecting");
    let socket: WebSocketLike;
    try {
      socket = this.options.createSocket(this.options.url());
    } catch {
      this.handleFailure(false, undefined);
      return;
    }
    const onOpen = (): void => this.handleOpen(socket);
    const onMessage = (event: object): void => this.handleData((event as { data?: unknown }).data);
    const onClose = (event: object): void => this.handleClose(socket, (event as { code?: number }).code);
    socket.addEventListener("open", onOpen);
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    this.socket = socket;
    this.detachSocket = () => {
      socket.removeEventListener("open", onOpen);
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("close", onClose);
    };
  }

  private handleOpen(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    this.open = true;
    this.everConnected = true;
    this.failures = 0;
    this.setStatus("connected");
    for (const subscription of this.subscriptions.values()) this.write(subscription);
    const queued = this.queue;
    this.queue = [];
    for (const call of queued) this.write(call);
  }

  private handleData(data: unknown): void {
    if (typeof data !== "string") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const message = parseRpcMessage(parsed);
    if (!message) return;
    if (message.type === "result" || message.type === "error") this.inFlight.delete(message.id);
    this.deliver(message);
  }

  private handleClose(socket: WebSocketLike, code: number | undefined): void {
    if (socket !== this.socket) return;
    const wasOpen = this.open;
    this.detach();
    this.socket = undefined;
    this.open = false;
    this.dropInFlight();
    this.handleFailure(wasOpen, code);
  }

  private handleFailure(wasOpen: boolean, code: number | undefined): void {
    if (this.closed) return;
    this.failures++;
    if (code !== undefined && UNAUTHORIZED_CLOSE_CODES.has(code)) {
      this.setStatus("unauthorized");
      return;
    }
    const diagnose = this.options.diagnose;
    if (!wasOpen && diagnose) {
      // A refused upgrade looks like any other failure to the browser: ask the server why.
      this.setStatus("reconnecting");
      void diagnose().then(
        (verdict) => {
          if (this.closed || this.socket) return;
          if (verdict === "unauthorized" || verdict === "admin_key_required") this.setStatus("unauthorized", verdict === "admin_key_required");
          else this.scheduleRetry();
        },
        () => {
          if (!this.closed && !this.socket) this.scheduleRetry();
        },
      );
      return;
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    const initial = this.options.initialDelayMs ?? 500;
    const max = this.options.maxDelayMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** Math.max(0, this.failures - 1));
    this.cancelTimer();
    this.retryAt = this.now() + delay;
    this.setStatus("reconnecting");
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
    this.retryAt = undefined;
  }

  private dropInFlight(): void {
    const lost = [...this.inFlight.keys()];
    this.inFlight.clear();
    for (const id of lost) this.deliver({ type: "error", id, error: { ...CONNECTION_LOST } });
  }

  private write(message: RpcMessage): void {
    if (message.type === "call") this.inFlight.set(message.id, message);
    try {
      this.socket?.send(JSON.stringify(message));
    } catch {
      // The close event follows.
    }
  }

  private detach(): void {
    this.detachSocket?.();
    this.detachSocket = undefined;
  }

  private deliver(message: RpcMessage): void {
    for (const listener of [...this.messageListeners]) listener(message);
  }

  private setStatus(status: ConnectionStatus, adminKeyRequired = false): void {
    this.status = status;
    this.adminKeyRequired = adminKeyRequired;
    this.options.onStatus?.(this.info);
  }
}
