import type { RpcMessage, RpcTransport } from "./protocol.js";

/** The listener bookkeeping every transport shares: the receiving half of {@link RpcTransport}. */
export interface TransportListeners {
  onMessage: RpcTransport["onMessage"];
  onClose: RpcTransport["onClose"];
  /** Hands a received message to every message listener. */
  deliver(message: RpcMessage): void;
  /** Tells every close listener, then forgets all listeners (later calls do nothing). */
  closed(): void;
}

export function createTransportListeners(): TransportListeners {
  const messageListeners = new Set<(message: RpcMessage) => void>();
  const closeListeners = new Set<() => void>();
  let isClosed = false;
  return {
    onMessage(listener) {
      messageListeners.add(listener);
      return () => messageListeners.delete(listener);
    },
    onClose(listener) {
      closeListeners.add(listener);
      return () => closeListeners.delete(listener);
    },
    deliver(message) {
      // A copy: a listener may unsubscribe (or subscribe) while being called.
      for (const listener of [...messageListeners]) listener(message);
    },
    closed() {
      if (isClosed) return;
      isClosed = true;
      for (const listener of [...closeListeners]) listener();
      closeListeners.clear();
      messageListeners.clear();
    },
  };
}
