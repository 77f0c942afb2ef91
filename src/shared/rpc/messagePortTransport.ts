import { parseRpcMessage } from "./parseRpcMessage.js";
import type { RpcTransport } from "./protocol.js";
import { createTransportListeners } from "./transportListeners.js";

/**
 * One end of a structured-clone message channel that has no "disconnect" of its own: Electron's
 * `UtilityProcess` (parent side: `postMessage`, its "message" event) and `process.parentPort`
 * (child side: `postMessage`, "message" events carrying `event.data`). Described here rather than
 * imported, so src/shared stays free of Electron.
 */
export interface MessagePortEnd {
  post(message: unknown): void;
  /** Registers the receiver of the other side's messages; returns its removal. */
  subscribe(listener: (message: unknown) => void): () => void;
}

/** The one message that is not RPC: "this side closed the channel". */
const CLOSE_MESSAGE = { rpcChannel: "close" } as const;

function isCloseMessage(message: unknown): boolean {
  return typeof message === "object" && message !== null && (message as { rpcChannel?: unknown }).rpcChannel === CLOSE_MESSAGE.rpcChannel;
}

/** An {@link RpcTransport} over a {@link MessagePortEnd}, and how its owner says the other side is gone. */
export interface MessagePortTransport extends RpcTransport {
  /** The other side is gone (its process exited): the transport closes without telling it. */
  otherSideGone(): void;
}

/**
 * An {@link RpcTransport} over a message port: one message per RPC message, as it is (structured
 * clone). Such ports do not tell when the other side closes them, so `close()` posts a close
 * message first, and a received close message closes this side too; messages that are neither
 * are dropped. The owner calls {@link MessagePortTransport.otherSideGone} when the other process
 * ends without saying so.
 */
export function createMessagePortTransport(port: MessagePortEnd): MessagePortTransport {
  const listeners = createTransportListeners();
  let closed = false;

  /** Posting to a port whose process is gone may throw: that is the other side gone. */
  const post = (message: unknown): void => {
    try {
      port.post(message);
    } catch {
      end();
    }
  };
  const end = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    listeners.closed();
  };
  const unsubscribe = port.subscribe((received) => {
    if (closed) return;
    if (isCloseMessage(received)) return end();
    const message = parseRpcMessage(received);
    if (message) listeners.deliver(message);
  });

  return {
    send(message) {
      if (!closed) post(message);
    },
    onMessage: listeners.onMessage,
    onClose: listeners.onClose,
    close() {
      if (closed) return;
      post(CLOSE_MESSAGE);
      end();
    },
    otherSideGone: end,
  };
}
