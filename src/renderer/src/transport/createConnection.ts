import type { MardukApi } from "../../../shared/contract/index.js";
import { createBridgeTransport } from "../../../shared/rpc/bridgeTransport.js";
import { createRpcClient } from "../../../shared/rpc/createRpcClient.js";
import type { ElectronRpcBridge } from "../../../shared/rpc/protocol.js";
import { isUnauthorizedError } from "../lib/errorMessage.js";
import { readApiKey, rpcSocketProtocols, rpcSocketUrl, writeApiKey } from "./apiKeyStorage.js";
import { createConnectionStore, type ConnectionStore } from "./connectionStore.js";
import { diagnoseRefusal } from "./diagnoseRefusal.js";
import { ReconnectingSocketTransport } from "./ReconnectingSocketTransport.js";

/** The UI's link to the app. */
export interface Connection {
  api: MardukApi;
  store: ConnectionStore;
  /** Stores the key (localStorage) and reconnects with it. */
  submitKey(key: string): void;
  /** Tries to connect now instead of waiting for the next attempt. */
  retryNow(): void;
  dispose(): void;
}

/** True when `value` looks like the preload's bridge (`window.marduk`). */
export function isElectronRpcBridge(value: unknown): value is ElectronRpcBridge {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<ElectronRpcBridge>).send === "function" &&
    typeof (value as Partial<ElectronRpcBridge>).onMessage === "function"
  );
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** A key given in the page's address (`/?key=...`) is kept and removed from the address bar. */
function takeKeyFromAddress(): void {
  const url = new URL(window.location.href);
  const key = url.searchParams.get("key");
  if (!key) return;
  writeApiKey(storage(), key);
  url.searchParams.delete("key");
  window.history.replaceState(null, "", url.pathname + url.search + url.hash);
}

/**
 * Connects the UI: through the Electron preload's bridge (`window.marduk`) when present,
 * else through a WebSocket to `/rpc` on the server that served the page.
 */
export function createConnection(): Connection {
  const bridge: unknown = (window as unknown as { marduk?: unknown }).marduk;
  if (isElectronRpcBridge(bridge)) {
    const transport = createBridgeTransport(bridge);
    const client = createRpcClient(transport);
    return {
      api: client,
      store: createConnectionStore("electron", () => false),
      submitKey: () => {},
      retryNow: () => {},
      dispose: () => {
        client.dispose();
        transport.close();
      },
    };
  }

  takeKeyFromAddress();
  const store = createConnectionStore("websocket", () => readApiKey(storage()) !== null);
  const transport = new ReconnectingSocketTransport({
    url: () => rpcSocketUrl(window.location),
    createSocket: (url) => new WebSocket(url, rpcSocketProtocols(readApiKey(storage()))),
    diagnose: () => diagnoseRefusal(readApiKey(storage()), (url, init) => fetch(url, init)),
    onStatus: (info) => store.getState().setInfo(info),
  });
  const stopWatching = transport.onMessage((message) => {
    if (message.type === "error" && isUnauthorizedError(message.error)) store.getState().markUnauthorized();
  });
  const client = createRpcClient(transport);
  return {
    api: client,
    store,
    submitKey(key) {
      writeApiKey(storage(), key.trim() || null);
      transport.reconnect();
    },
    retryNow: () => transport.reconnect(),
    dispose() {
      stopWatching();
      client.dispose();
      transport.close();
    },
  };
}
