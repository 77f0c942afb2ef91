import { parseRpcMessage } from "./parseRpcMessage.js";
import type { RpcTransport } from "./protocol.js";
import { createTransportListeners } from "./transportListeners.js";

/**
 * What the transport needs of a Node IPC channel: a forked `ChildProcess` on the parent's side,
 * `process` on the child's. Described here rather than imported, so src/shared stays free of Node.
 */
export interface ProcessChannelLike {
  readonly connected: boolean;
  send(message: unknown, callback: (error: Error | null) => void): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "disconnect", listener: () => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "disconnect", listener: () => void): unknown;
  disconnect(): void;
}

/** Options of {@link createProcessChannelTransport}. */
export interface ProcessChannelTransportOptions {
  /** Receives failures to send (the other side is gone). Default: ignored; the close follows. */
  onSendError?: (error: Error) => void;
}

/**
 * An {@link RpcTransport} over a Node IPC channel (`child_process.fork`): one IPC message per
 * RPC message, as it is (fork with `serialization: "advanced"` so typed arrays and `undefined`
 * survive). Messages that are not RPC envelopes are dropped. The transport closes when the
 * channel disconnects (the other process exited or closed it); `close()` disconnects it.
 */
export function createProcessChannelTransport(channel: ProcessChannelLike, options: ProcessChannelTransportOptions = {}): RpcTransport {
  const listeners = createTransportListeners();
  let closed = false;

  const onMessage = (received: unknown): void => {
    if (closed) return;
    const message = parseRpcMessage(received);
    if (message) listeners.deliver(message);
  };
  const onDisconnect = (): void => {
    if (closed) return;
    closed = true;
    channel.off("message", onMessage);
    channel.off("disconnect", onDisconnect);
    listeners.closed();
  };
  channel.on("message", onMessage);
  channel.on("disconnect", onDisconnect);
  if (!channel.connected) queueMicrotask(onDisconnect);

  return {
    send(message) {
      if (closed || !channel.connected) return;
      // With a callback, a failed send is reported to it instead of as an "error" event.
      channel.send(message, (error) => {
        if (error) options.onSendError?.(error);
      });
    },
    onMessage: listeners.onMessage,
    onClose: listeners.onClose,
    close() {
      if (closed) return;
      if (channel.connected) channel.disconnect();
      else onDisconnect();
    },
  };
}
