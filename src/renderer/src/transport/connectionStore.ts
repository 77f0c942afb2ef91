import { createStore, type StoreApi } from "zustand/vanilla";
import type { ConnectionInfo, ConnectionStatus } from "./ReconnectingSocketTransport.js";

export interface ConnectionState {
  /** How the UI reaches the app: the Electron bridge or a WebSocket to the server. */
  kind: "electron" | "websocket";
  status: ConnectionStatus;
  /** Failed attempts since the last good connection. */
  failures: number;
  retryAt?: number;
  /** True once connected at least once (a later drop shows the "disconnected" banner). */
  wasConnected: boolean;
  /** The server wants an API key (none given, or the one given was refused). */
  needsKey: boolean;
  /** A key was given and refused. */
  keyRejected: boolean;
  /** The key given is valid, but only for the HTTP API (`inference` scope): the app needs an admin key. */
  adminKeyRequired: boolean;
  /** Increments on every reconnect after the first connection (stores read their data again). */
  reconnects: number;

  setInfo(info: ConnectionInfo): void;
  /** A call was refused for want of a valid key. */
  markUnauthorized(): void;
}

export type ConnectionStore = StoreApi<ConnectionState>;

export function createConnectionStore(kind: ConnectionState["kind"], hasKey: () => boolean): ConnectionStore {
  return createStore<ConnectionState>()((set, get) => ({
    kind,
    status: kind === "electron" ? "connected" : "connecting",
    failures: 0,
    wasConnected: kind === "electron",
    needsKey: false,
    keyRejected: false,
    adminKeyRequired: false,
    reconnects: 0,

    setInfo(info) {
      const previous = get();
      const connectedAgain = info.status === "connected" && previous.status !== "connected" && previous.wasConnected;
      const adminKeyRequired = info.adminKeyRequired === true;
      set({
        status: info.status,
        failures: info.failures,
        retryAt: info.retryAt,
        wasConnected: previous.wasConnected || info.status === "connected",
        needsKey: info.status === "unauthorized" ? true : info.status === "connected" ? false : previous.needsKey,
        keyRejected: info.status === "unauthorized" ? hasKey() && !adminKeyRequired : info.status === "connected" ? false : previous.keyRejected,
        adminKeyRequired: info.status === "unauthorized" ? adminKeyRequired : info.status === "connected" ? false : previous.adminKeyRequired,
        reconnects: previous.reconnects + (connectedAgain ? 1 : 0),
      });
    },

    markUnauthorized() {
      set({ needsKey: true, keyRejected: hasKey(), adminKeyRequired: false });
    },
  }));
}
