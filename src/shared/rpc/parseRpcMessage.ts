import type { RpcMessage } from "./protocol.js";
import { parseErrorPayload } from "./rpcErrors.js";

/** Longest `method`/`event` name accepted (the contract's are far shorter). */
const MAX_NAME_LENGTH = 128;

function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isName(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

/**
 * Checks that a value received from a transport (a parsed WebSocket frame, an IPC message) is
 * a well-formed {@link RpcMessage}; returns it, or undefined for anything else. Only the
 * envelope is checked: `params`, `result` and `payload` are the contract's business.
 */
export function parseRpcMessage(value: unknown): RpcMessage | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const message = value as Record<string, unknown>;
  if (!isId(message.id)) return undefined;
  switch (message.type) {
    case "call":
      return isName(message.method) ? { type: "call", id: message.id, method: message.method, params: message.params } : undefined;
    case "result":
      return { type: "result", id: message.id, result: message.result };
    case "error":
      return { type: "error", id: message.id, error: parseErrorPayload(message.error) };
    case "subscribe":
      return isName(message.event) ? { type: "subscribe", id: message.id, event: message.event } : undefined;
    case "unsubscribe":
      return { type: "unsubscribe", id: message.id };
    case "event":
      return { type: "event", id: message.id, payload: message.payload };
    default:
      return undefined;
  }
}
