import { contextBridge, ipcRenderer, type IpcRendererEvent } from "electron";
import { ELECTRON_RPC_CHANNEL } from "../shared/rpc/bridgeTransport.js";
import type { ElectronRpcBridge, RpcMessage } from "../shared/rpc/protocol.js";

/**
 * The whole bridge between the sandboxed page and the app: `window.marduk`, a pipe for the
 * contract's RPC messages on one IPC channel. No Node, no file system, no other channel, and
 * the page never sees `ipcRenderer` or IPC events (only the messages). The main process checks
 * that messages come from the app's own page.
 */
const CHANNEL = ELECTRON_RPC_CHANNEL;

function isMessage(value: unknown): value is RpcMessage {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

const bridge: ElectronRpcBridge = {
  send(message) {
    if (isMessage(message)) ipcRenderer.send(CHANNEL, message);
  },
  onMessage(listener) {
    if (typeof listener !== "function") throw new TypeError("onMessage needs a listener function");
    const relay = (_event: IpcRendererEvent, message: unknown): void => {
      if (isMessage(message)) listener(message);
    };
    ipcRenderer.on(CHANNEL, relay);
    return () => {
      ipcRenderer.removeListener(CHANNEL, relay);
    };
  },
};

contextBridge.exposeInMainWorld("marduk", bridge);
