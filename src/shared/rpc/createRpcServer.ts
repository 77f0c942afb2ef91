import type { Unsubscribe } from "../contract/common.js";
import type { MardukApi } from "../contract/index.js";
import type { ErrorPayload } from "../errorCodes.js";
import { CONTRACT_MEMBERS, indexRpcMembers, type RpcMemberRef, type RpcMembers } from "./contractMembers.js";
import { parseRpcMessage } from "./parseRpcMessage.js";
import type { RpcMessage, RpcTransport } from "./protocol.js";
import { toErrorPayload } from "./rpcErrors.js";

/** Options of {@link createRpcServer}. */
export interface RpcServerOptions {
  /**
   * Receives errors that were not raised on purpose (they reach the client as a generic
   * `internal_error`), and failures to send. Default: ignored.
   */
  onUnexpectedError?: (error: unknown, context: string) => void;
  /** Most subscriptions one client may hold at once. Default: 256. */
  maxSubscriptions?: number;
}

/** One side of the RPC serving a contract implementation to one client. */
export interface RpcServer {
  /** True while a call runs or a subscription is held: the client is using the connection. */
  readonly busy: boolean;
  /** Drops every subscription and stops answering (the transport is left open). */
  dispose(): void;
}

export const DEFAULT_MAX_SUBSCRIPTIONS = 256;

type Member = (this: unknown, argument: unknown) => unknown;

function memberOf(api: object, ref: RpcMemberRef): { target: object; member: Member } | undefined {
  const target: unknown = (api as Record<string, unknown>)[ref.group];
  if (typeof target !== "object" || target === null) return undefined;
  const member: unknown = (target as Record<string, unknown>)[ref.name];
  return typeof member === "function" ? { target, member: member as Member } : undefined;
}

/**
 * Serves the UI contract `api` over `transport`: `call` messages run `api[group][method](params)`
 * and are answered with `result` or `error`; `subscribe` registers a listener with
 * `api[group][onX]` whose payloads go out as `event` messages until `unsubscribe`, dispose, or
 * the transport closes. Only the contract's own calls and events (CONTRACT_MEMBERS) can be reached.
 */
export function createRpcServer(api: MardukApi, transport: RpcTransport, options: RpcServerOptions = {}): RpcServer {
  return createRpcServerFor(CONTRACT_MEMBERS, api, transport, options);
}

/**
 * Serves any API described by `members` over `transport`, as {@link createRpcServer} serves the
 * contract: only the listed calls and events can be reached.
 */
export function createRpcServerFor<Api extends object>(members: RpcMembers<Api>, api: Api, transport: RpcTransport, options: RpcServerOptions = {}): RpcServer {
  const { findCall, findEvent } = indexRpcMembers(members);
  const maxSubscriptions = options.maxSubscriptions ?? DEFAULT_MAX_SUBSCRIPTIONS;
  const subscriptions = new Map<number, Unsubscribe>();
  let runningCalls = 0;
  let disposed = false;

  const reportUnexpected = (error: unknown, context: string): void => {
    try {
      options.onUnexpectedError?.(error, context);
    } catch {
      // A failing logger must not break the connection.
    }
  };

  /** Sends a message; false when the transport refused it (e.g. a payload that is not JSON). */
  const send = (message: RpcMessage): boolean => {
    if (disposed) return false;
    try {
      transport.send(message);
      return true;
    } catch (error) {
      reportUnexpected(error, `sending ${message.type}`);
      return false;
    }
  };

  const sendError = (id: number, error: ErrorPayload): void => {
    send({ type: "error", id, error });
  };

  const handleCall = (id: number, method: string, params: unknown): void => {
    const ref = findCall(method);
    const resolved = ref && memberOf(api, ref);
    if (!resolved) {
      sendError(id, { code: "invalid_argument", message: `Unknown method '${method}'`, param: "method" });
      return;
    }
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(resolved.member.call(resolved.target, params));
    } catch (error) {
      pending = Promise.reject(error);
    }
    runningCalls++;
    pending.finally(() => runningCalls--).then(
      (result) => {
        if (!send({ type: "result", id, result })) {
          sendError(id, { code: "internal_error", message: `The result of '${method}' could not be sent` });
        }
      },
      (error: unknown) => {
        const { payload, unexpected } = toErrorPayload(error);
        if (unexpected) reportUnexpected(error, method);
        sendError(id, payload);
      },
    );
  };

  const handleSubscribe = (id: number, event: string): void => {
    const ref = findEvent(event);
    const resolved = ref && memberOf(api, ref);
    if (!resolved) {
      sendError(id, { code: "invalid_argument", message: `Unknown event '${event}'`, param: "event" });
      return;
    }
    if (subscriptions.has(id)) {
      sendError(id, { code: "invalid_argument", message: `Subscription ${id} already exists`, param: "id" });
      return;
    }
    if (subscriptions.size >= maxSubscriptions) {
      sendError(id, { code: "invalid_argument", message: `Too many subscriptions (at most ${maxSubscriptions})` });
      return;
    }
    // Registered before the listener, so payloads emitted during registration are sent too.
    let active = true;
    subscriptions.set(id, () => (active = false));
    try {
      const unsubscribe = resolved.member.call(resolved.target, (payload: unknown) => {
        if (active) send({ type: "event", id, payload });
      });
      if (typeof unsubscribe !== "function") throw new TypeError(`${event} did not return an unsubscribe function`);
      if (subscriptions.has(id)) {
        subscriptions.set(id, () => {
          active = false;
          (unsubscribe as Unsubscribe)();
        });
      } else {
        (unsubscribe as Unsubscribe)();
      }
    } catch (error) {
      active = false;
      subscriptions.delete(id);
      const { payload, unexpected } = toErrorPayload(error);
      if (unexpected) reportUnexpected(error, event);
      sendError(id, payload);
    }
  };

  const handleUnsubscribe = (id: number): void => {
    const unsubscribe = subscriptions.get(id);
    if (!unsubscribe) return;
    subscriptions.delete(id);
    try {
      unsubscribe();
    } catch (error) {
      reportUnexpected(error, "unsubscribe");
    }
  };

  const removeMessageListener = transport.onMessage((received) => {
    if (disposed) return;
    const message = parseRpcMessage(received);
    if (!message) return;
    switch (message.type) {
      case "call":
        handleCall(message.id, message.method, message.params);
        break;
      case "subscribe":
        handleSubscribe(message.id, message.event);
        break;
      case "unsubscribe":
        handleUnsubscribe(message.id);
        break;
      default:
        // result, error and event messages only travel from server to client.
        break;
    }
  });
  const removeCloseListener = transport.onClose(() => dispose());

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    removeMessageListener();
    removeCloseListener();
    for (const id of [...subscriptions.keys()]) {
      const unsubscribe = subscriptions.get(id)!;
      subscriptions.delete(id);
      try {
        unsubscribe();
      } catch (error) {
        reportUnexpected(error, "unsubscribe");
      }
    }
  }

  return {
    get busy() {
      return runningCalls > 0 || subscriptions.size > 0;
    },
    dispose,
  };
}
