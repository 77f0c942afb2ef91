import { ipcMain, type IpcMainEvent, type WebContents } from "electron";
import type { MardukApi } from "../shared/contract/index.js";
import { ELECTRON_RPC_CHANNEL } from "../shared/rpc/bridgeTransport.js";
import { createRpcServer } from "../shared/rpc/createRpcServer.js";
import { parseRpcMessage } from "../shared/rpc/parseRpcMessage.js";
import type { RpcTransport } from "../shared/rpc/protocol.js";
import { createTransportListeners } from "../shared/rpc/transportListeners.js";
import type { Logger } from "../core/logger.js";

/**
 * Whether an IPC message comes from the app's own page: sent by `contents` (the app's
 * window), from its main frame (never an iframe), whose URL is the app's page.
 */
export function isTrustedSender(event: IpcMainEvent, contents: WebContents, isAppUrl: (url: string) => boolean): boolean {
  if (contents.isDestroyed() || event.sender !== contents) return false;
  const frame = event.senderFrame;
  const main = contents.mainFrame;
  if (!frame || frame.processId !== main.processId || frame.routingId !== main.routingId) return false;
  return isAppUrl(frame.url);
}

/**
 * An {@link RpcTransport} over Electron IPC for one page of one window: messages arrive on the
 * one contract channel through `ipcMain` and are accepted only from that window's main frame
 * showing the app's page (see {@link isTrustedSender}) — anything else is dropped — and leave
 * through `webContents.send`. It closes when the page goes away (navigation, reload, crash,
 * window closed), so the page's subscriptions end with it.
 */
export function createIpcTransport(contents: WebContents, isAppUrl: (url: string) => boolean, logger?: Logger): RpcTransport {
  const listeners = createTransportListeners();
  let closed = false;
  let dropped = 0;

  const onIpc = (event: IpcMainEvent, received: unknown): void => {
    if (closed || event.sender !== contents) return;
    if (!isTrustedSender(event, contents, isAppUrl)) {
      if (dropped++ < 5) logger?.warn({ url: event.senderFrame?.url }, "dropped an RPC message from an untrusted frame");
      return;
    }
    const message = parseRpcMessage(received);
    if (!message) return;
    listeners.deliver(message);
  };

  const onNavigation = (details: { isMainFrame: boolean; isSameDocument: boolean }): void => {
    if (details.isMainFrame && !details.isSameDocument) close();
  };

  function close(): void {
    if (closed) return;
    closed = true;
    ipcMain.removeListener(ELECTRON_RPC_CHANNEL, onIpc);
    if (!contents.isDestroyed()) {
      contents.removeListener("did-start-navigation", onNavigation);
      contents.removeListener("render-process-gone", close);
      contents.removeListener("destroyed", close);
    }
    listeners.closed();
  }

  ipcMain.on(ELECTRON_RPC_CHANNEL, onIpc);
  contents.on("did-start-navigation", onNavigation);
  contents.on("render-process-gone", close);
  contents.once("destroyed", close);

  return {
    send(message) {
      if (closed || contents.isDestroyed()) return;
      contents.send(ELECTRON_RPC_CHANNEL, message);
    },
    onMessage: listeners.onMessage,
    onClose: listeners.onClose,
    close,
  };
}

/**
 * Serves the contract to a window for as long as it lives: one RPC server per page load (a
 * reload starts from fresh subscriptions). Returns the function that stops serving.
 */
export function serveContractOverIpc(contents: WebContents, api: MardukApi, isAppUrl: (url: string) => boolean, logger: Logger): () => void {
  let transport: RpcTransport | undefined;
  let stopped = false;
  const open = (): void => {
    if (stopped || contents.isDestroyed()) return;
    transport = createIpcTransport(contents, isAppUrl, logger);
    createRpcServer(api, transport, {
      onUnexpectedError: (error, context) => logger.error({ err: error, context }, "RPC call failed"),
    });
    // The page went away: serve the next one (the transport closes at navigation; a closed window ends here).
    transport.onClose(() => queueMicrotask(open));
  };
  open();
  return () => {
    stopped = true;
    transport?.close();
  };
}
