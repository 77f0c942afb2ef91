import { RPC_KEY_PROTOCOL_PREFIX, RPC_WEBSOCKET_PATH, RPC_WEBSOCKET_PROTOCOL } from "../../../shared/rpc/webSocketTransport.js";

/** Where the browser UI keeps the server's API key between visits. */
export const API_KEY_STORAGE_KEY = "marduk.apiKey";

/** The part of `localStorage` used here (tests pass a Map-backed fake). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function readApiKey(storage: KeyValueStorage | undefined): string | null {
  try {
    return storage?.getItem(API_KEY_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

export function writeApiKey(storage: KeyValueStorage | undefined, key: string | null): void {
  try {
    if (key) storage?.setItem(API_KEY_STORAGE_KEY, key);
    else storage?.removeItem(API_KEY_STORAGE_KEY);
  } catch {
    // Storage may be disabled; the key then lasts for this page only.
  }
}

/** The RPC WebSocket's URL for a page at `location` (same host, `ws:` or `wss:`). */
export function rpcSocketUrl(location: { protocol: string; host: string }): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${RPC_WEBSOCKET_PATH}`;
}

/**
 * The WebSocket sub-protocols to offer: the RPC's, plus the key (browsers cannot set an
 * Authorization header on a WebSocket, and a key in the URL would end up in access logs).
 */
export function rpcSocketProtocols(key: string | null): string[] {
  return key ? [RPC_WEBSOCKET_PROTOCOL, `${RPC_KEY_PROTOCOL_PREFIX}${key}`] : [RPC_WEBSOCKET_PROTOCOL];
}
