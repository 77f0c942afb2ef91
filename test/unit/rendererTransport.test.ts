import { describe, expect, it } from "vitest";
import type { RpcMessage } from "../../src/shared/rpc/protocol.js";
import type { WebSocketLike } from "../../src/shared/rpc/webSocketTransport.js";
import { ReconnectingSocketTransport, type ConnectionDiagnosis, type ConnectionInfo } from "../../src/renderer/src/transport/ReconnectingSocketTransport.js";
import { diagnoseRefusal, type FetchLike } from "../../src/renderer/src/transport/diagnoseRefusal.js";
import { createConnectionStore } from "../../src/renderer/src/transport/connectionStore.js";
import { API_KEY_STORAGE_KEY, readApiKey, rpcSocketProtocols, rpcSocketUrl, writeApiKey } from "../../src/renderer/src/transport/apiKeyStorage.js";
import { settle } from "./rendererFakeApi.js";

type Listener = (event: object) => void;

class FakeSocket implements WebSocketLike {
  readyState = 0;
  bufferedAmount = 0;
  readonly sent: RpcMessage[] = [];
  closedWith: number | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as RpcMessage);
  }
  close(code?: number): void {
    this.closedWith = code ?? 1000;
    this.readyState = 3;
  }
  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  fire(type: string, event: object = {}): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener(event);
  }
  open(): void {
    this.readyState = 1;
    this.fire("open");
  }
  receive(message: RpcMessage): void {
    this.fire("message", { data: JSON.stringify(message) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.fire("close", { code, reason: "" });
  }
}

function setup(options: { diagnose?: () => Promise<ConnectionDiagnosis> } = {}) {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ callback: () => void; ms: number; cleared: boolean }> = [];
  const statuses: ConnectionInfo[] = [];
  const transport = new ReconnectingSocketTransport({
    url: () => "ws://host/rpc",
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return socket;
    },
    initialDelayMs: 100,
    maxDelayMs: 1000,
    setTimer: (callback, ms) => {
      const timer = { callback, ms, cleared: false };
      timers.push(timer);
      return timer;
    },
    clearTimer: (handle) => {
      (handle as { cleared: boolean }).cleared = true;
    },
    now: () => 0,
    onStatus: (info) => statuses.push(info),
    ...(options.diagnose ? { diagnose: options.diagnose } : {}),
  });
  const received: RpcMessage[] = [];
  transport.onMessage((message) => received.push(message));
  const runTimer = (): number => {
    const timer = timers.filter((candidate) => !candidate.cleared).at(-1)!;
    timer.cleared = true;
    timer.callback();
    return timer.ms;
  };
  return { transport, sockets, timers, statuses, received, runTimer, socket: () => sockets.at(-1)! };
}

describe("reconnecting WebSocket transport", () => {
  it("queues calls until the socket opens, then sends them in order", () => {
    const t = setup();
    expect(t.transport.info.status).toBe("connecting");
    t.transport.send({ type: "call", id: 1, method: "models.list", params: undefined });
    t.transport.send({ type: "subscribe", id: 2, event: "models.onLibraryChanged" });
    expect(t.socket().sent).toEqual([]);
    t.socket().open();
    expect(t.transport.info.status).toBe("connected");
    expect(t.socket().sent.map((m) => [m.type, m.id])).toEqual([
      ["subscribe", 2],
      ["call", 1],
    ]);
  });

  it("delivers valid messages and drops malformed frames", () => {
    const t = setup();
    t.socket().open();
    t.socket().receive({ type: "event", id: 2, payload: [1] });
    t.socket().fire("message", { data: "not json" });
    t.socket().fire("message", { data: JSON.stringify({ type: "nonsense" }) });
    expect(t.received).toEqual([{ type: "event", id: 2, payload: [1] }]);
  });

  it("fails calls that were on the wire when the socket drops, resubscribes after reconnecting", () => {
    const t = setup();
    t.socket().open();
    t.transport.send({ type: "subscribe", id: 1, event: "chat.onEvent" });
    t.transport.send({ type: "subscribe", id: 2, event: "metrics.onSample" });
    t.transport.send({ type: "unsubscribe", id: 2 });
    t.transport.send({ type: "call", id: 3, method: "chat.send", params: {} });
    t.transport.send({ type: "call", id: 4, method: "models.list", params: undefined });
    t.socket().receive({ type: "result", id: 4, result: [] });

    t.socket().drop();
    expect(t.transport.info.status).toBe("reconnecting");
    expect(t.received.filter((m) => m.type === "error").map((m) => m.id)).toEqual([3]);

    // Calls made while disconnected wait for the next socket.
    t.transport.send({ type: "call", id: 5, method: "models.loaded", params: undefined });
    expect(t.runTimer()).toBe(100);
    expect(t.sockets).toHaveLength(2);
    t.socket().open();
    expect(t.socket().sent.map((m) => [m.type, m.id])).toEqual([
      ["subscribe", 1],
      ["call", 5],
    ]);
  });

  it("backs off exponentially up to the maximum, and resets after a success", () => {
    const t = setup();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      t.socket().drop();
      delays.push(t.runTimer());
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    t.socket().open();
    expect(t.transport.info.failures).toBe(0);
    t.socket().drop();
    expect(t.runTimer()).toBe(100);
  });

  it("stops retrying when the server says the key is wrong, until reconnect()", async () => {
    let verdict: "unauthorized" | "unreachable" = "unauthorized";
    const t = setup({ diagnose: async () => verdict });
    t.transport.send({ type: "call", id: 1, method: "models.list", params: undefined });
    t.socket().drop();
    await settle();
    expect(t.transport.info.status).toBe("unauthorized");
    expect(t.timers.filter((timer) => !timer.cleared)).toHaveLength(0);

    verdict = "unreachable";
    t.transport.reconnect();
    expect(t.sockets).toHaveLength(2);
    t.socket().open();
    expect(t.socket().sent.map((m) => m.id)).toEqual([1]);
  });

  it("stops retrying and says so when the key is valid but not an admin key", async () => {
    let verdict: ConnectionDiagnosis = "admin_key_required";
    const t = setup({ diagnose: async () => verdict });
    t.socket().drop();
    await settle();
    expect(t.transport.info).toMatchObject({ status: "unauthorized", adminKeyRequired: true });
    expect(t.timers.filter((timer) => !timer.cleared)).toHaveLength(0);
    verdict = "unauthorized";
    t.transport.reconnect();
    t.socket().drop();
    await settle();
    expect(t.transport.info.status).toBe("unauthorized");
    expect(t.transport.info.adminKeyRequired).toBeUndefined();
  });

  it("treats close code 4401 as unauthorized", () => {
    const t = setup();
    t.socket().open();
    t.socket().drop(4401);
    expect(t.transport.info.status).toBe("unauthorized");
  });

  it("close() fails everything pending, reports the close once and stops reconnecting", () => {
    const t = setup();
    let closes = 0;
    t.transport.onClose(() => closes++);
    t.transport.send({ type: "call", id: 1, method: "models.list", params: undefined });
    t.transport.close();
    t.transport.close();
    expect(closes).toBe(1);
    expect(t.received).toMatchObject([{ type: "error", id: 1 }]);
    expect(t.socket().closedWith).toBe(1000);
    t.transport.send({ type: "call", id: 2, method: "models.list", params: undefined });
    expect(t.received.at(-1)).toMatchObject({ type: "error", id: 2 });
    expect(t.sockets).toHaveLength(1);
  });
});

describe("diagnosing a refused socket", () => {
  const answering = (status: number, body: unknown = {}) => {
    const requests: Array<{ url: string; headers: Record<string, string> }> = [];
    const fetchLike: FetchLike = async (url, init) => {
      requests.push({ url, headers: init.headers });
      return { status, json: async () => body };
    };
    return { fetchLike, requests };
  };

  it("asks /rpc over HTTP with the same key and reads the answer", async () => {
    const missing = answering(401);
    expect(await diagnoseRefusal(null, missing.fetchLike)).toBe("unauthorized");
    expect(missing.requests).toEqual([{ url: "/rpc", headers: {} }]);
    const scoped = answering(403, { error: { code: "insufficient_scope" } });
    expect(await diagnoseRefusal("mk-1", scoped.fetchLike)).toBe("admin_key_required");
    expect(scoped.requests[0]!.headers).toEqual({ authorization: "Bearer mk-1" });
    expect(await diagnoseRefusal("mk-1", answering(403, { error: { code: "origin_not_allowed" } }).fetchLike)).toBe("unreachable");
    expect(await diagnoseRefusal("mk-1", answering(426).fetchLike)).toBe("unreachable");
    expect(await diagnoseRefusal("mk-1", answering(502, "not json").fetchLike)).toBe("unreachable");
  });
});

describe("connection store", () => {
  it("asks for an admin key when the key given is an inference key", () => {
    const store = createConnectionStore("websocket", () => true);
    store.getState().setInfo({ status: "unauthorized", failures: 1, adminKeyRequired: true });
    expect(store.getState()).toMatchObject({ needsKey: true, keyRejected: false, adminKeyRequired: true });
    store.getState().setInfo({ status: "unauthorized", failures: 1 });
    expect(store.getState()).toMatchObject({ needsKey: true, keyRejected: true, adminKeyRequired: false });
    store.getState().setInfo({ status: "unauthorized", failures: 1, adminKeyRequired: true });
    store.getState().setInfo({ status: "connected", failures: 0 });
    expect(store.getState()).toMatchObject({ needsKey: false, keyRejected: false, adminKeyRequired: false });
  });

  it("counts reconnects and asks for a key when unauthorized", () => {
    let hasKey = false;
    const store = createConnectionStore("websocket", () => hasKey);
    store.getState().setInfo({ status: "connected", failures: 0 });
    expect(store.getState()).toMatchObject({ wasConnected: true, reconnects: 0 });
    store.getState().setInfo({ status: "reconnecting", failures: 1, retryAt: 5 });
    store.getState().setInfo({ status: "connected", failures: 0 });
    expect(store.getState().reconnects).toBe(1);
    store.getState().setInfo({ status: "unauthorized", failures: 1 });
    expect(store.getState()).toMatchObject({ needsKey: true, keyRejected: false });
    hasKey = true;
    store.getState().markUnauthorized();
    expect(store.getState().keyRejected).toBe(true);
    store.getState().setInfo({ status: "connected", failures: 0 });
    expect(store.getState()).toMatchObject({ needsKey: false, keyRejected: false, reconnects: 2 });
  });
});

describe("API key storage and socket address", () => {
  it("keeps the key, and builds ws/wss URLs and sub-protocols", () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v), removeItem: (k: string) => void data.delete(k) };
    expect(readApiKey(storage)).toBeNull();
    writeApiKey(storage, "mk-secret");
    expect(data.get(API_KEY_STORAGE_KEY)).toBe("mk-secret");
    expect(readApiKey(storage)).toBe("mk-secret");
    writeApiKey(storage, null);
    expect(readApiKey(storage)).toBeNull();
    expect(rpcSocketUrl({ protocol: "http:", host: "127.0.0.1:11435" })).toBe("ws://127.0.0.1:11435/rpc");
    expect(rpcSocketUrl({ protocol: "https:", host: "box.lan" })).toBe("wss://box.lan/rpc");
    expect(rpcSocketProtocols(null)).toEqual(["marduk-rpc"]);
    expect(rpcSocketProtocols("mk-1")).toEqual(["marduk-rpc", "marduk-key.mk-1"]);
  });
});
