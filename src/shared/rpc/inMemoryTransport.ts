import type { RpcMessage, RpcTransport } from "./protocol.js";
import { createTransportListeners, type TransportListeners } from "./transportListeners.js";


/**
 * Two connected transports in one process, for tests and embedding. Delivery is asynchronous
 * (a microtask per message, in order) and every message goes through `JSON.stringify` and
 * `JSON.parse`, as on a wire: a payload that is not JSON fails at `send` (BigInt, cycles) or
 * arrives changed (undefined fields vanish, Dates become strings) exactly as it would over a
 * WebSocket. Closing either end closes both; messages sent after that are dropped.
 */
export function createInMemoryTransportPair(): [RpcTransport, RpcTransport] {
  const ends: [TransportListeners, TransportListeners] = [createTransportListeners(), createTransportListeners()];
  let closed = false;

  const closeBoth = (): void => {
    if (closed) return;
    closed = true;
    // After the messages already on their way, like a close frame.
    queueMicrotask(() => {
      for (const end of ends) end.closed();
    });
  };

  const transport = (own: TransportListeners, peer: TransportListeners): RpcTransport => ({
    send(message) {
      if (closed) return;
      const text = JSON.stringify(message);
      queueMicrotask(() => peer.deliver(JSON.parse(text) as RpcMessage));
    },
    onMessage: own.onMessage,
    onClose: own.onClose,
    close: closeBoth,
  });

  return [transport(ends[0], ends[1]), transport(ends[1], ends[0])];
}
