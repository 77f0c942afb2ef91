import { describe, expect, it, vi } from "vitest";
import type { ChatStreamEvent } from "../../src/shared/contract/chat.js";
import type { MardukApi } from "../../src/shared/contract/index.js";
import {
  CONTRACT_MEMBERS,
  createInMemoryTransportPair,
  createRpcClient,
  createRpcServer,
  RpcError,
  type RpcMessage,
  type RpcTransport,
} from "../../src/shared/rpc/index.js";
import { CONTRACT_GROUPS } from "../../src/shared/contract/index.js";

/** A typed stand-in for the core: only what a test needs, the rest throws. */
function fakeApi(overrides: { [G in keyof MardukApi]?: Partial<MardukApi[G]> } = {}): MardukApi {
  const api: Record<string, Record<string, unknown>> = {};
  for (const group of CONTRACT_GROUPS) {
    const members: Record<string, unknown> = {};
    for (const name of CONTRACT_MEMBERS[group].calls) members[name] = () => Promise.reject(new Error(`${group}.${name} not faked`));
    for (const name of CONTRACT_MEMBERS[group].events) members[name] = () => () => undefined;
    api[group] = { ...members, ...overrides[group] };
  }
  return api as unknown as MardukApi;
}

/** Chat events a test emits by hand. */
function chatEventSource() {
  const listeners = new Set<(event: ChatStreamEvent) => void>();
  return {
    listeners,
    onEvent: (listener: (event: ChatStreamEvent) => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event: ChatStreamEvent) {
      for (const listener of listeners) listener(event);
    },
  };
}

/** Lets queued microtasks (in-memory deliveries) run. */
const flush = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function connect(api: MardukApi, onUnexpectedError?: (error: unknown, context: string) => void) {
  const [clientSide, serverSide] = createInMemoryTransportPair();
  const server = createRpcServer(api, serverSide, { onUnexpectedError });
  const client = createRpcClient(clientSide);
  return { client, server, clientSide, serverSide };
}

/** A raw client: sends any message and collects the answers. */
function rawClient(transport: RpcTransport) {
  const received: RpcMessage[] = [];
  transport.onMessage((message) => received.push(message));
  return { received, send: (message: unknown) => transport.send(message as RpcMessage) };
}

const delta = (text: string): ChatStreamEvent => ({ type: "delta", generationId: "g", conversationId: "c", text, tokenCount: 1 });

describe("rpc calls", () => {
  it("calls api[group][method](params) and resolves with the result", async () => {
    const get = vi.fn(async ({ id }: { id: string }) => ({ id, title: "Hello", createdAt: 1, updatedAt: 2, messageCount: 0, systemPrompt: "", settings: {}, messages: [] }));
    const { client } = connect(fakeApi({ conversations: { get, list: async () => [] } }));
    await expect(client.conversations.list()).resolves.toEqual([]);
    await expect(client.conversations.get({ id: "abc" })).resolves.toMatchObject({ id: "abc", title: "Hello" });
    expect(get).toHaveBeenCalledWith({ id: "abc" });
  });

  it("answers concurrent calls by id, whatever order they finish in", async () => {
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const { client } = connect(
      fakeApi({
        conversations: { list: async () => (await slow, []) },
        settings: { get: async () => ({ defaultSystemPrompt: "x", theme: "dark" as const }) },
      }),
    );
    const first = client.conversations.list();
    const second = client.settings.get();
    await expect(second).resolves.toEqual({ defaultSystemPrompt: "x", theme: "dark" });
    release();
    await expect(first).resolves.toEqual([]);
  });

  it("keeps the code and param of errors raised on purpose", async () => {
    const failure = Object.assign(new Error("No conversation 'x'"), { code: "invalid_argument", param: "id" });
    const { client } = connect(fakeApi({ conversations: { get: async () => Promise.reject(failure) } }));
    const error = await client.conversations.get({ id: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "RpcError", code: "invalid_argument", message: "No conversation 'x'", param: "id" });
  });

  it("turns anything else into internal_error with a generic message, and reports it", async () => {
    const onUnexpectedError = vi.fn();
    const { client } = connect(
      fakeApi({
        conversations: {
          list: async () => {
            throw new TypeError("cannot read properties of undefined (reading 'secret') at /home/user/app.js:1:1");
          },
          get: () => {
            throw Object.assign(new Error("ENOENT: no such file /etc/x"), { code: "ENOENT" });
          },
        },
      }),
      onUnexpectedError,
    );
    const error = await client.conversations.list().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "internal_error", message: "Internal error" });
    expect((error as Error).message).not.toContain("secret");
    // A synchronous throw is an error reply too, and a Node error code is not a contract code.
    await expect(client.conversations.get({ id: "y" })).rejects.toMatchObject({ code: "internal_error", message: "Internal error" });
    expect(onUnexpectedError).toHaveBeenCalledTimes(2);
    expect(onUnexpectedError.mock.calls[0]![1]).toBe("conversations.list");
  });

  it("fails a call whose result is not JSON instead of leaving it pending", async () => {
    const { client } = connect(fakeApi({ settings: { get: async () => ({ theme: "dark", defaultSystemPrompt: "", big: 1n }) as never } }));
    await expect(client.settings.get()).rejects.toMatchObject({ code: "internal_error" });
  });

  it("carries messages as JSON: undefined fields vanish, dates become strings", async () => {
    const { client } = connect(
      fakeApi({ conversations: { list: async () => [{ id: "a", title: "t", createdAt: new Date(0), updatedAt: 0, messageCount: 0, modelId: undefined }] as never } }),
    );
    const [summary] = await client.conversations.list();
    expect(summary).toEqual({ id: "a", title: "t", createdAt: "1970-01-01T00:00:00.000Z", updatedAt: 0, messageCount: 0 });
    expect("modelId" in summary!).toBe(false);
  });
});

describe("rpc events", () => {
  it("delivers events to each subscriber until it unsubscribes", async () => {
    const source = chatEventSource();
    const { client } = connect(fakeApi({ chat: { onEvent: source.onEvent } }));
    const first: ChatStreamEvent[] = [];
    const second: ChatStreamEvent[] = [];
    const stopFirst = client.chat.onEvent((event) => first.push(event));
    client.chat.onEvent((event) => second.push(event));
    await flush();
    expect(source.listeners.size).toBe(2);
    source.emit(delta("a"));
    await flush();
    stopFirst();
    await flush();
    expect(source.listeners.size).toBe(1);
    source.emit(delta("b"));
    await flush();
    expect(first.map((event) => event.type === "delta" && event.text)).toEqual(["a"]);
    expect(second.map((event) => event.type === "delta" && event.text)).toEqual(["a", "b"]);
  });

  it("delivers payloads emitted while the listener registers", async () => {
    const { client } = connect(
      fakeApi({
        settings: {
          onChanged: (listener) => {
            listener({ defaultSystemPrompt: "now", theme: "light" });
            return () => undefined;
          },
        },
      }),
    );
    const received = await new Promise((resolve) => client.settings.onChanged(resolve));
    expect(received).toEqual({ defaultSystemPrompt: "now", theme: "light" });
  });

  it("a failing listener does not stop delivery to the others", async () => {
    const source = chatEventSource();
    const { client } = connect(fakeApi({ chat: { onEvent: source.onEvent } }));
    const errors: unknown[] = [];
    const onUncaught = (error: unknown) => errors.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const received: ChatStreamEvent[] = [];
      client.chat.onEvent(() => {
        throw new Error("listener bug");
      });
      client.chat.onEvent((event) => received.push(event));
      await flush();
      source.emit(delta("x"));
      await flush();
      expect(received).toHaveLength(1);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});

describe("rpc lifecycle", () => {
  it("rejects pending calls when the transport closes, and later calls at once", async () => {
    const { client, clientSide } = connect(fakeApi({ conversations: { list: () => new Promise(() => undefined) } }));
    const pending = client.conversations.list();
    await flush();
    clientSide.close();
    await expect(pending).rejects.toMatchObject({ name: "RpcError", code: "aborted" });
    expect(client.closed).toBe(true);
    await expect(client.conversations.list()).rejects.toMatchObject({ code: "aborted" });
  });

  it("the server drops every subscription when the transport closes", async () => {
    const source = chatEventSource();
    const { client, serverSide } = connect(fakeApi({ chat: { onEvent: source.onEvent } }));
    client.chat.onEvent(() => undefined);
    client.chat.onEvent(() => undefined);
    await flush();
    expect(source.listeners.size).toBe(2);
    serverSide.close();
    await flush();
    expect(source.listeners.size).toBe(0);
  });

  it("dispose on either side stops the conversation", async () => {
    const source = chatEventSource();
    const { client, server } = connect(fakeApi({ chat: { onEvent: source.onEvent }, conversations: { list: () => new Promise(() => undefined) } }));
    client.chat.onEvent(() => undefined);
    await flush();
    server.dispose();
    expect(source.listeners.size).toBe(0);
    const pending = client.conversations.list();
    client.dispose();
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
  });
});

describe("rpc allowlist", () => {
  it("the client exposes exactly the contract's members, on objects without a prototype", () => {
    const [clientSide] = createInMemoryTransportPair();
    const client = createRpcClient(clientSide);
    expect(Object.keys(client).sort()).toEqual([...CONTRACT_GROUPS, "dispose"].sort());
    for (const group of CONTRACT_GROUPS) {
      const members = CONTRACT_MEMBERS[group];
      expect(Object.keys(client[group]).sort()).toEqual([...members.calls, ...members.events].sort());
    }
    const loose = client as unknown as Record<string, Record<string, unknown> | undefined>;
    expect(loose.then).toBeUndefined();
    expect(loose.models!.constructor).toBeUndefined();
    expect(loose.models!.toString).toBeUndefined();
  });

  it("refuses calls and subscriptions outside the contract without touching the api", async () => {
    const touched = vi.fn();
    const api = fakeApi({ conversations: { list: async () => (touched(), []) } });
    // Extras a real contract object has that the RPC must never reach.
    Object.assign(api, { dispose: touched, access: { verifyKey: touched } });
    const [clientSide, serverSide] = createInMemoryTransportPair();
    createRpcServer(api, serverSide);
    const raw = rawClient(clientSide);
    const forbidden = [
      "conversations.constructor",
      "conversations.__proto__",
      "conversations.toString",
      "conversations.hasOwnProperty",
      "__proto__.constructor",
      "constructor.name",
      "dispose",
      "access.verifyKey",
      "conversations",
      "chat.onEvent",
      "nope.list",
      "conversations.list.call",
    ];
    forbidden.forEach((method, index) => raw.send({ type: "call", id: index + 1, method, params: {} }));
    raw.send({ type: "subscribe", id: 100, event: "chat.send" });
    raw.send({ type: "subscribe", id: 101, event: "chat.__proto__" });
    await flush();
    expect(touched).not.toHaveBeenCalled();
    expect(raw.received).toHaveLength(forbidden.length + 2);
    for (const message of raw.received) {
      expect(message).toMatchObject({ type: "error", error: { code: "invalid_argument" } });
    }
  });

  it("ignores malformed envelopes and refuses a reused subscription id", async () => {
    const source = chatEventSource();
    const [clientSide, serverSide] = createInMemoryTransportPair();
    createRpcServer(fakeApi({ chat: { onEvent: source.onEvent } }), serverSide);
    const raw = rawClient(clientSide);
    for (const junk of [null, 42, "call", [], { type: "call" }, { type: "call", id: -1, method: "x" }, { type: "call", id: 1.5, method: "x" }, { type: "weird", id: 1 }]) {
      raw.send(junk);
    }
    raw.send({ type: "subscribe", id: 7, event: "chat.onEvent" });
    raw.send({ type: "subscribe", id: 7, event: "chat.onEvent" });
    await flush();
    expect(raw.received).toEqual([{ type: "error", id: 7, error: expect.objectContaining({ code: "invalid_argument" }) }]);
    expect(source.listeners.size).toBe(1);
  });
});

describe("in-memory transport", () => {
  it("delivers asynchronously and in order", async () => {
    const [a, b] = createInMemoryTransportPair();
    const received: number[] = [];
    b.onMessage((message) => received.push(message.id));
    a.send({ type: "event", id: 1, payload: null });
    a.send({ type: "event", id: 2, payload: null });
    expect(received).toEqual([]);
    await flush();
    expect(received).toEqual([1, 2]);
  });

  it("refuses payloads that are not JSON, like a wire", () => {
    const [a] = createInMemoryTransportPair();
    expect(() => a.send({ type: "event", id: 1, payload: 1n })).toThrow();
  });
});
