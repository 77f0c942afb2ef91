import type { Unsubscribe } from "../contract/common.js";
import type { MardukApi } from "../contract/index.js";
import { CONTRACT_MEMBERS, type RpcMembers } from "./contractMembers.js";
import { parseRpcMessage } from "./parseRpcMessage.js";
import type { RpcMessage, RpcTransport } from "./protocol.js";
import { RpcError } from "./rpcErrors.js";

/** An API as seen by a client, plus the client's own lifecycle. */
export type RpcClientOf<Api> = Api & {
  /** True once the transport closed or the client was disposed: calls reject at once. */
  readonly closed: boolean;
  /** Rejects pending calls, drops every subscription, and stops listening (the transport is left open). */
  dispose(): void;
};

/** The contract as seen by a client, plus the client's own lifecycle. */
export type RpcClient = RpcClientOf<MardukApi>;

/** Options of {@link createRpcClient}. */
export interface RpcClientOptions {
  /** Receives the server's refusal of a subscription (unknown event, too many). Default: ignored. */
  onSubscriptionError?: (event: string, error: RpcError) => void;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Subscription {
  event: string;
  listener(payload: unknown): void;
}

/** The error pending and later calls reject with once the connection is gone. */
function closedError(): RpcError {
  return new RpcError({ code: "aborted", message: "The connection to Marduk Local is closed" });
}

/**
 * A typed client of the contract over `transport`. Each group is a frozen object whose members
 * are exactly the contract's (CONTRACT_MEMBERS): `client.chat.send(request)` sends a `call` and
 * resolves with the result or rejects with an {@link RpcError} carrying the server's code;
 * `client.chat.onEvent(listener)` subscribes and returns the unsubscribe function. Names
 * outside the contract are undefined (the objects have no prototype), so an accidental
 * `await client` or `then` check is safe.
 */
export function createRpcClient(transport: RpcTransport, options: RpcClientOptions = {}): RpcClient {
  return createRpcClientFor<MardukApi>(CONTRACT_MEMBERS, transport, options);
}

/**
 * A typed client of any API described by `members` over `transport`, built as
 * {@link createRpcClient} builds the contract's.
 */
export function createRpcClientFor<Api>(members: RpcMembers<Api>, transport: RpcTransport, options: RpcClientOptions = {}): RpcClientOf<Api> {
  const pending = new Map<number, PendingCall>();
  const subscriptions = new Map<number, Subscription>();
  let nextId = 1;
  let closed = false;
  let removeCloseListener: () => void = () => undefined;

  const send = (message: RpcMessage): void => {
    transport.send(message);
  };

  const call = (method: string, params: unknown): Promise<unknown> => {
    if (closed) return Promise.reject(closedError());
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        send({ type: "call", id, method, params });
      } catch (error) {
        pending.delete(id);
        reject(error);
      }
    });
  };

  const subscribe = (event: string, listener: (payload: unknown) => void): Unsubscribe => {
    if (typeof listener !== "function") throw new TypeError(`${event} needs a listener function`);
    if (closed) return () => undefined;
    const id = nextId++;
    subscriptions.set(id, { event, listener });
    send({ type: "subscribe", id, event });
    return () => {
      if (!subscriptions.delete(id) || closed) return;
      try {
        send({ type: "unsubscribe", id });
      } catch {
        // The connection is going away; the server drops the subscription with it.
      }
    };
  };

  const deliver = (subscription: Subscription, payload: unknown): void => {
    try {
      subscription.listener(payload);
    } catch (error) {
      // A failing listener must not stop delivery to the others: report it asynchronously.
      queueMicrotask(() => {
        throw error;
      });
    }
  };

  const removeMessageListener = transport.onMessage((received) => {
    const message = parseRpcMessage(received);
    if (!message || closed) return;
    switch (message.type) {
      case "result": {
        const entry = pending.get(message.id);
        if (!entry) return;
        pending.delete(message.id);
        entry.resolve(message.result);
        return;
      }
      case "error": {
        const entry = pending.get(message.id);
        if (entry) {
          pending.delete(message.id);
          entry.reject(new RpcError(message.error));
          return;
        }
        const subscription = subscriptions.get(message.id);
        if (subscription) {
          subscriptions.delete(message.id);
          options.onSubscriptionError?.(subscription.event, new RpcError(message.error));
        }
        return;
      }
      case "event": {
        const subscription = subscriptions.get(message.id);
        if (subscription) deliver(subscription, message.payload);
        return;
      }
      default:
        return;
    }
  });

  const shutDown = (): void => {
    if (closed) return;
    closed = true;
    removeMessageListener();
    removeCloseListener();
    subscriptions.clear();
    const calls = [...pending.values()];
    pending.clear();
    for (const entry of calls) entry.reject(closedError());
  };
  removeCloseListener = transport.onClose(shutDown);

  // Null-prototype objects: not even `constructor` or `toString` exist besides the contract's names.
  const client = Object.create(null) as Record<string, unknown>;
  for (const group of Object.keys(members) as (keyof Api & string)[]) {
    const groupMembers = Object.create(null) as Record<string, unknown>;
    for (const name of members[group].calls as readonly string[]) {
      const method = `${group}.${name}`;
      groupMembers[name] = (request?: unknown) => call(method, request);
    }
    for (const name of members[group].events as readonly string[]) {
      const event = `${group}.${name}`;
      groupMembers[name] = (listener: (payload: unknown) => void) => subscribe(event, listener);
    }
    client[group] = Object.freeze(groupMembers);
  }
  Object.defineProperty(client, "closed", { enumerable: false, get: () => closed });
  client.dispose = shutDown;
  return Object.freeze(client) as unknown as RpcClientOf<Api>;
}
