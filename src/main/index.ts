/**
 * The Electron main process: a thin shell around the core. It owns the app's lifecycle (one
 * instance, graceful quit that unloads the models), the window, the IPC transport of the
 * contract, and the local API server the user controls from the Server screen. Everything the
 * app does lives in src/core.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { app, Menu, safeStorage, session, utilityProcess, type BrowserWindow } from "electron";
import { LocalApiServer } from "../core/contract/LocalApiServer.js";
import { createCore, type Core } from "../core/createCore.js";
import { serveContractOverIpc } from "./ipcTransport.js";
import { buildApplicationMenu } from "./menu.js";
import { utilityProcessSpawner } from "./utilityModelHost.js";
import { SafeStorageTokenVault } from "./safeStorageTokenVault.js";
import { confineWebContents, createMainWindow, isAppUrl, loadRenderer, rendererSource, secureSession, type RendererSource } from "./window.js";

/** Longest the graceful quit may take before the app exits anyway. */
const QUIT_TIMEOUT_MS = 15_000;

const mainDir = path.dirname(fileURLToPath(import.meta.url));
const isDev = !app.isPackaged;

let core: Core | undefined;
let apiServer: LocalApiServer | undefined;
let mainWindow: BrowserWindow | undefined;
let quitting: Promise<void> | undefined;
let readyToQuit = false;

function showWindow(source: RendererSource): void {
  if (!core) return;
  if (mainWindow && !mainWindow.isDestroyed()) {
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
    return;
  }
  const window = createMainWindow({ source, preload: path.join(mainDir, "../preload/index.cjs"), devTools: isDev });
  mainWindow = window;
  const stopServing = serveContractOverIpc(window.webContents, core.contract, (url) => isAppUrl(source, url), core.logger);
  window.on("closed", () => {
    stopServing();
    if (mainWindow === window) mainWindow = undefined;
  });
  loadRenderer(window, source).catch((error: unknown) => core?.logger.error({ err: error }, "the window failed to load the UI"));
}

async function start(): Promise<void> {
  const source = rendererSource(mainDir, app.isPackaged);
  secureSession(session.defaultSession, source);
  Menu.setApplicationMenu(buildApplicationMenu({ isDev }));
  // Same models folder and database as `marduk-local serve` (MARDUK_MODELS_DIR / MARDUK_DATA_DIR apply).
  // Every loaded model runs in a utility process of its own (the host entry is bundled next to
  // this file): a crafted model or a native assert ends that process, never the app.
  core = createCore({
    // The Hugging Face token entered in the UI is kept encrypted by the OS keychain.
    hubTokenVault: (dataDir) => new SafeStorageTokenVault(safeStorage, dataDir),
    modelHost: "process",
    modelHostOptions: { spawnHost: utilityProcessSpawner({ fork: utilityProcess.fork, entry: path.join(mainDir, "modelHost.js") }) },
  });
  apiServer = new LocalApiServer({ core }).attach();
  showWindow(source);
  app.on("activate", () => showWindow(source));
  // Warm llama.cpp and start the local API in the background; the window does not wait.
  void core.runtime().catch((error: unknown) => core?.logger.error({ err: error }, "llama.cpp runtime failed to start"));
  await apiServer.restore();
}

/** Stops the API, stores stopped generations, unloads every model, releases llama.cpp. */
async function shutDown(): Promise<void> {
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS).unref());
  const work = (async () => {
    await apiServer?.dispose();
    await core?.dispose();
  })().catch((error: unknown) => core?.logger.error({ err: error }, "shutdown failed"));
  await Promise.race([work, timeout]);
}

if (!app.requestSingleInstanceLock()) {
  // Another instance runs (it owns the models and the port): it gets focused instead.
  app.quit();
} else {
  app.enableSandbox();
  app.on("second-instance", () => {
    if (!mainWindow || mainWindow.isDestroyed()) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  // Every web contents the app ever creates is confined to the app's page.
  app.on("web-contents-created", (_event, contents) => {
    confineWebContents(contents, rendererSource(mainDir, app.isPackaged));
  });
  app.on("window-all-closed", () => {
    if (process.platform !== "darwin") app.quit();
  });
  app.on("before-quit", (event) => {
    if (readyToQuit) return;
    event.preventDefault();
    quitting ??= shutDown().finally(() => {
      readyToQuit = true;
      app.quit();
    });
  });
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      core?.logger.error({ err: error }, "the app failed to start");
      app.exit(1);
    });
}
