import { parseRpcMessage } from "./parseRpcMessage.js";
import type { ElectronRpcBridge, RpcMessage, RpcTransport } from "./protocol.js";

/** The one IPC channel the preload bridge and the main process exchange RPC messages on. */
export const ELECTRON_RPC_CHANNEL = "marduk:rpc";

/**
 * An {@link RpcTransport} over the preload's `window.marduk` bridge (the renderer side of the
 * Electron transport). The bridge lives as long as the page, so the transport only closes
 * when `close()` is called; the main process drops the page's subscriptions when it reloads.
 */
export function createBridgeTransport(bridge: ElectronRpcBridge): RpcTransport {
  const messageListeners = new Set<(message: RpcMessage) => void>();
  const closeListeners = new Set<() => void>();
  let closed = false;
  const removeBridgeListener = bridge.onMessage((received) => {
    const message = parseRpcMessage(received);
    if (!message || closed) return;
    for (const listener of [...messageListeners]) listener(message);
  });
  return {
    send(message) {
      if (!closed) bridge.send(message);
    },
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    close() {
      if (closed) return;
      closed = true;
      removeBridgeListener();
      for (const listener of [...closeListeners]) listener();
      closeListeners.clear();
      messageListeners.clear();
    },
  };
}
