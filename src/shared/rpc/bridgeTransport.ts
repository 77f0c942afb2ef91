import { parseRpcMessage } from "./parseRpcMessage.js";
import type { ElectronRpcBridge, RpcTransport } from "./protocol.js";
import { createTransportListeners } from "./transportListeners.js";

/** The one IPC channel the preload bridge and the main process exchange RPC messages on. */
export const ELECTRON_RPC_CHANNEL = "marduk:rpc";

/**
 * An {@link RpcTransport} over the preload's `window.marduk` bridge (the renderer side of the
 * Electron transport). The bridge lives as long as the page, so the transport only closes
 * when `close()` is called; the main process drops the page's subscriptions when it reloads.
 */
export function createBridgeTransport(bridge: ElectronRpcBridge): RpcTransport {
  const listeners = createTransportListeners();
  let closed = false;
  const removeBridgeListener = bridge.onMessage((received) => {
    const message = parseRpcMessage(received);
    if (message && !closed) listeners.deliver(message);
  });
  return {
    send(message) {
      if (!closed) bridge.send(message);
    },
    onMessage: listeners.onMessage,
    onClose: listeners.onClose,
    close() {
      if (closed) return;
      closed = true;
      removeBridgeListener();
      listeners.closed();
    },
  };
}
