import { describe, expect, it } from "vitest";
import { createMessagePortTransport, type MessagePortEnd } from "../../src/shared/rpc/messagePortTransport.js";
import type { RpcMessage } from "../../src/shared/rpc/protocol.js";

/** Two connected port ends, delivering asynchronously with a structured clone, like a real port. */
function portPair(): [MessagePortEnd, MessagePortEnd] {
  const listeners: [Set<(message: unknown) => void>, Set<(message: unknown) => void>] = [new Set(), new Set()];
  const end = (own: number): MessagePortEnd => ({
    post: (message) => {
      const copy = structuredClone(message);
      queueMicrotask(() => listeners[1 - own]!.forEach((listener) => listener(copy)));
    },
    subscribe: (listener) => {
      listeners[own]!.add(listener);
      return () => listeners[own]!.delete(listener);
    },
  });
  return [end(0), end(1)];
}

const call: RpcMessage = { type: "call", id: 1, method: "host.ping", params: { bytes: new Uint8Array([1, 2]) } };

describe("createMessagePortTransport", () => {
  it("carries RPC messages both ways and drops anything else", async () => {
    const [a, b] = portPair();
    const parent = createMessagePortTransport(a);
    const child = createMessagePortTransport(b);
    const received: RpcMessage[] = [];
    child.onMessage((message) => received.push(message));
    a.post({ not: "rpc" });
    parent.send(call);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(received).toEqual([call]);
  });

  it("close() tells the other side, which closes too; nothing is sent after", async () => {
    const [a, b] = portPair();
    const parent = createMessagePortTransport(a);
    const child = createMessagePortTransport(b);
    const childClosed = new Promise<void>((resolve) => child.onClose(resolve));
    let parentClosed = 0;
    parent.onClose(() => parentClosed++);
    const received: RpcMessage[] = [];
    child.onMessage((message) => received.push(message));
    parent.close();
    parent.send(call);
    await childClosed;
    expect(parentClosed).toBe(1);
    expect(received).toEqual([]);
  });

  it("closes when its owner says the other side is gone, or when posting throws", () => {
    const [a] = portPair();
    const transport = createMessagePortTransport(a);
    let closes = 0;
    transport.onClose(() => closes++);
    transport.otherSideGone();
    transport.otherSideGone();
    expect(closes).toBe(1);

    const throwing = createMessagePortTransport({
      post: () => {
        throw new Error("the process is gone");
      },
      subscribe: () => () => undefined,
    });
    let closedByThrow = false;
    throwing.onClose(() => (closedByThrow = true));
    throwing.send(call);
    expect(closedByThrow).toBe(true);
  });
});
