import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BrowserWindow, shell, type Session, type WebContents } from "electron";

/** Where the renderer comes from: the built files, or electron-vite's dev server. */
export type RendererSource =
  | { kind: "file"; /** Absolute path of the built index.html. */ file: string; /** Its file:// URL. */ url: string }
  | { kind: "dev"; url: string; origin: string };

/**
 * The renderer's source: the dev server (`ELECTRON_RENDERER_URL`, set by `electron-vite dev`)
 * in an unpackaged app, else `out/renderer/index.html` next to the main bundle.
 */
export function rendererSource(mainDir: string, isPackaged: boolean, env: NodeJS.ProcessEnv = process.env): RendererSource {
  const devUrl = env.ELECTRON_RENDERER_URL;
  if (!isPackaged && devUrl && URL.canParse(devUrl)) {
    const url = new URL(devUrl);
    if (url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1")) return { kind: "dev", url: devUrl, origin: url.origin };
  }
  const file = path.join(mainDir, "../renderer/index.html");
  return { kind: "file", file, url: pathToFileURL(file).href };
}

/**
 * True when `url` is the app's own page: the built index.html itself (any hash or query; the
 * UI routes by hash), or a page of the dev server. Everything else is outside content.
 */
export function isAppUrl(source: RendererSource, url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  if (source.kind === "dev") return parsed.origin === source.origin;
  const expected = new URL(source.url);
  return parsed.protocol === "file:" && parsed.host === "" && parsed.pathname === expected.pathname;
}

/** True for resources the app's page may load: its own files (file://) or the dev server's. */
function isAppResource(source: RendererSource, url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  // The dev server's pages and modules, and its hot-reload WebSocket.
  if (source.kind === "dev") return parsed.origin === source.origin || parsed.origin === source.origin.replace(/^http/, "ws");
  if (parsed.protocol !== "file:") return false;
  let filePath: string;
  try {
    filePath = fileURLToPath(parsed);
  } catch {
    return false;
  }
  const relative = path.relative(path.dirname(source.file), filePath);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * The renderer's Content-Security-Policy: its own scripts only (no inline script or eval),
 * inline styles (React style attributes), data: images; no network at all in production (the
 * UI talks to the core over IPC), no frames, no plugins. The dev server needs inline scripts
 * (React refresh) and its HMR WebSocket.
 */
export function contentSecurityPolicy(source: RendererSource): string {
  const dev = source.kind === "dev";
  const devSocket = dev ? ` ${source.origin.replace(/^http/, "ws")}` : "";
  return [
    "default-src 'self'",
    dev ? "script-src 'self' 'unsafe-inline'" : "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${devSocket}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Opens http(s) URLs in the system browser; anything else (file:, javascript:, custom schemes) is dropped. */
export function openExternalSafely(url: string): void {
  if (!URL.canParse(url)) return;
  const { protocol } = new URL(url);
  if (protocol === "https:" || protocol === "http:") void shell.openExternal(url);
}

/**
 * Session-wide protections: the CSP header on the app's own responses (the built page also has
 * it as a meta tag, for file:// loads the header may not reach), requests to anything but the
 * app's own files refused, and every permission (camera, notifications, ...) denied.
 */
export function secureSession(session: Session, source: RendererSource): void {
  const csp = contentSecurityPolicy(source);
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    if (isAppResource(source, details.url)) {
      for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-security-policy") delete headers[name];
      headers["Content-Security-Policy"] = [csp];
    }
    callback({ responseHeaders: headers });
  });
  session.webRequest.onBeforeRequest((details, callback) => {
    const allowed = isAppResource(source, details.url) || details.url.startsWith("devtools:") || details.url.startsWith("data:") || details.url.startsWith("blob:");
    callback({ cancel: !allowed });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
}

/**
 * Keeps a web contents on the app's page: navigations elsewhere and new windows are refused,
 * and http(s) links open in the system browser instead; `<webview>` is never attached.
 */
export function confineWebContents(contents: WebContents, source: RendererSource): void {
  contents.on("will-navigate", (event) => {
    if (isAppUrl(source, event.url)) return;
    event.preventDefault();
    openExternalSafely(event.url);
  });
  contents.on("will-redirect", (event) => {
    if (isAppUrl(source, event.url)) return;
    event.preventDefault();
  });
  contents.on("will-attach-webview", (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(url);
    return { action: "deny" };
  });
}

/** Options of {@link createMainWindow}. */
export interface MainWindowOptions {
  source: RendererSource;
  /** Absolute path of the preload bundle (CommonJS, for the sandbox). */
  preload: string;
  /** Opens the developer tools (dev only). Default: false. */
  devTools?: boolean;
}

/**
 * The app's window: isolated, sandboxed renderer without Node, web security on, no webviews,
 * no spell-check dictionary downloads; shown once its first frame is ready.
 */
export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 880,
    minHeight: 560,
    show: false,
    title: "Marduk Local",
    backgroundColor: "#16161d",
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: options.devTools ?? false,
    },
  });
  // Navigation and new windows are confined for every web contents (index.ts: web-contents-created).
  window.once("ready-to-show", () => window.show());
  return window;
}

/** Loads the renderer into the window. */
export async function loadRenderer(window: BrowserWindow, source: RendererSource): Promise<void> {
  if (source.kind === "dev") await window.loadURL(source.url);
  else await window.loadFile(source.file);
}
