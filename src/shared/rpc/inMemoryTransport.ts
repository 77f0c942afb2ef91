import type { RpcMessage, RpcTransport } from "./protocol.js";

interface End {
  readonly messageListeners: Set<(message: RpcMessage) => void>;
  readonly closeListeners: Set<() => void>;
}

function newEnd(): End {
  return { messageListeners: new Set(), closeListeners: new Set() };
}

function notify<T extends unknown[]>(listeners: ReadonlySet<(...args: T) => void>, ...args: T): void {
  for (const listener of [...listeners]) listener(...args);
}

/**
 * Two connected transports in one process, for tests and embedding. Delivery is asynchronous
 * (a microtask per message, in order) and every message goes through `JSON.stringify` and
 * `JSON.parse`, as on a wire: a payload that is not JSON fails at `send` (BigInt, cycles) or
 * arrives changed (undefined fields vanish, Dates become strings) exactly as it would over a
 * WebSocket. Closing either end closes both; messages sent after that are dropped.
 */
export function createInMemoryTransportPair(): [RpcTransport, RpcTransport] {
  const ends: [End, End] = [newEnd(), newEnd()];
  let closed = false;

  const closeBoth = (): void => {
    if (closed) return;
    closed = true;
    // After the messages already on their way, like a close frame.
    queueMicrotask(() => {
      for (const end of ends) notify(end.closeListeners);
      for (const end of ends) {
        end.closeListeners.clear();
        end.messageListeners.clear();
      }
    });
  };

  const transport = (own: End, peer: End): RpcTransport => ({
    send(message) {
      if (closed) return;
      const text = JSON.stringify(message);
      queueMicrotask(() => notify(peer.messageListeners, JSON.parse(text) as RpcMessage));
    },
    onMessage(listener) {
      own.messageListeners.add(listener);
      return () => own.messageListeners.delete(listener);
    },
    onClose(listener) {
      own.closeListeners.add(listener);
      return () => own.closeListeners.delete(listener);
    },
    close: closeBoth,
  });

  return [transport(ends[0], ends[1]), transport(ends[1], ends[0])];
}
