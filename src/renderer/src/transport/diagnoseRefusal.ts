import { RPC_WEBSOCKET_PATH } from "../../../shared/rpc/webSocketTransport.js";
import type { ConnectionDiagnosis } from "./ReconnectingSocketTransport.js";

/** The part of `fetch` used here (tests pass a fake). */
export type FetchLike = (url: string, init: { headers: Record<string, string>; cache: "no-store" }) => Promise<{ status: number; json(): Promise<unknown> }>;

/** The `error.code` of an OpenAI-shaped error body, if any. */
async function errorCodeOf(response: { json(): Promise<unknown> }): Promise<unknown> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } } | null;
    return body?.error?.code;
  } catch {
    return undefined;
  }
}

/**
 * Asks the server why the RPC socket did not open: a browser is not told why an upgrade failed,
 * so the same guards are asked through a plain GET of `/rpc` with the same key. 401: no valid
 * key; 403 `insufficient_scope`: a valid key that may only use the HTTP API (the app needs an
 * admin key); anything else (426 once past the guards, a network error): not the key.
 */
export async function diagnoseRefusal(key: string | null, fetchImpl: FetchLike): Promise<ConnectionDiagnosis> {
  const response = await fetchImpl(RPC_WEBSOCKET_PATH, { headers: key ? { authorization: `Bearer ${key}` } : {}, cache: "no-store" });
  if (response.status === 401) return "unauthorized";
  if (response.status === 403 && (await errorCodeOf(response)) === "insufficient_scope") return "admin_key_required";
  return "unreachable";
}
