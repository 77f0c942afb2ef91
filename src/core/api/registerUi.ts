import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyStaticOptions, SendOptions } from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { findPackageRoot } from "../packageRoot.js";

/** Options of {@link registerUi}. */
export interface UiOptions {
  /** Folder of the built renderer (`index.html` and `assets/`). Default: {@link defaultUiDir}. */
  dir?: string;
}

/** Paths that belong to the API, never to the UI (their unknown sub-paths get the API's 404). */
const API_PATH = /^\/(?:v1|api)(?:\/|$)|^\/(?:rpc|metrics|health)$/;

/** True for a path the UI serves (everything that is not the API's). */
export function isUiPath(urlPath: string): boolean {
  return !API_PATH.test(urlPath);
}

/**
 * `out/renderer` of the package this file belongs to (what `npx electron-vite build` writes;
 * see {@link findPackageRoot}), else `out/renderer` under the working directory.
 */
export function defaultUiDir(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  return path.join(findPackageRoot(from) ?? process.cwd(), "out", "renderer");
}

/**
 * The UI's Content-Security-Policy: only this origin's scripts (no inline script, no eval),
 * inline styles (React style attributes), images from data: URLs, and connections back to
 * this server (fetch, and the RPC WebSocket at `ws(s)://<host>/rpc`). No frames, no plugins.
 */
export function uiContentSecurityPolicy(host: string | undefined): string {
  const socketOrigins = host && /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src 'self'${socketOrigins}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function setUiHeaders(request: FastifyRequest, reply: FastifyReply): void {
  reply
    .header("content-security-policy", uiContentSecurityPolicy(request.headers.host))
    .header("x-content-type-options", "nosniff")
    .header("x-frame-options", "DENY")
    .header("referrer-policy", "no-referrer")
    .header("cross-origin-opener-policy", "same-origin")
    .header("cross-origin-resource-policy", "same-origin");
}

const NOT_BUILT = (dir: string): string => `Marduk Local's user interface is not built.

The API works without it: OpenAI-compatible at /v1, Ollama-compatible at /api.

To build the UI, run this in the project's folder, then reload this page:

    npx electron-vite build

(It is expected in ${dir}.)
`;

/** The path inside the UI folder a URL path names, or undefined when it is not a safe relative path. */
function relativeFilePath(urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const segments = decoded.split("/").filter((segment) => segment !== "");
  // No parent segments, no dot files or folders.
  if (segments.some((segment) => segment.startsWith("."))) return undefined;
  return segments.join("/");
}

type SendFile = (this: FastifyReply, filename: string, rootPath: string, options: SendOptions) => FastifyReply;

/**
 * @fastify/static's `reply.sendFile`, loaded on the first UI request instead of at start (its
 * modules take ~25 ms, a tenth of the start-up, and an API-only client never needs them).
 * Registered with `serve: false`, the plugin only declares its reply decorators, which Fastify
 * forbids once the server listens; so it is run against a stand-in that collects them (its
 * log and error handler are the server's), and the UI route calls the collected `sendFile`
 * with the reply as `this`, as the decorator would be called. @fastify/static is pinned, and
 * the UI tests (rpcWebSocket) serve files, ranges and 404s through this.
 */
function lazySendFile(app: FastifyInstance, options: FastifyStaticOptions): () => Promise<SendFile> {
  let loading: Promise<SendFile> | undefined;
  const load = async (): Promise<SendFile> => {
    const { default: fastifyStatic } = await import("@fastify/static");
    const decorators = new Map<string, unknown>();
    const standIn = {
      log: app.log,
      get errorHandler() {
        return app.errorHandler;
      },
      decorateReply(name: string, value: unknown) {
        decorators.set(name, value);
        return standIn;
      },
    };
    await (fastifyStatic as unknown as (instance: typeof standIn, options: FastifyStaticOptions) => Promise<void>)(standIn, options);
    const sendFile = decorators.get("sendFile");
    if (typeof sendFile !== "function") throw new Error("@fastify/static declared no reply.sendFile");
    return sendFile as SendFile;
  };
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined; // A failed load is tried again by the next request.
      throw error;
    });
    return loading;
  };
}

/**
 * Serves the built renderer at `/` (the browser UI of the headless server): its files with
 * long caching for the hashed `assets/`, `index.html` for every other path without an
 * extension (client-side routes), the API's own 404 for unknown API paths, and a plain-text
 * page saying how to build the UI when it is missing (checked per request, so building it
 * while the server runs is enough). Every UI response carries a strict CSP. The UI's files
 * hold no data, so they are reachable without an API key; the Host and Origin checks apply.
 */
export async function registerUi(app: FastifyInstance, options: UiOptions = {}): Promise<void> {
  const root = path.resolve(options.dir ?? defaultUiDir());
  const sendFileLoader = lazySendFile(app, { root, serve: false, suppressWarning: true, dotfiles: "deny", index: false });

  app.get("/*", { config: { publicPath: isUiPath } }, async (request, reply) => {
    const urlPath = request.url.split("?")[0]!;
    if (!isUiPath(urlPath)) return reply.callNotFound();
    setUiHeaders(request, reply);
    if (!existsSync(path.join(root, "index.html"))) {
      return reply.code(503).header("content-type", "text/plain; charset=utf-8").header("cache-control", "no-store").send(NOT_BUILT(root));
    }
    const relative = relativeFilePath(urlPath);
    if (relative === undefined) return reply.callNotFound();
    if (relative !== "" && relative !== "index.html") {
      let isFile: boolean;
      try {
        isFile = statSync(path.join(root, relative)).isFile();
      } catch {
        isFile = false;
      }
      if (isFile) {
        const hashed = relative.startsWith("assets/");
        return (await sendFileLoader()).call(reply, relative, root, hashed ? { maxAge: "365d", immutable: true } : { maxAge: 0 });
      }
      // A missing file (it has an extension) is a 404; anything else is a route of the UI.
      if (path.posix.extname(relative) !== "") return reply.callNotFound();
    }
    const sendFile = await sendFileLoader();
    return sendFile.call(reply.header("cache-control", "no-cache"), "index.html", root, { cacheControl: false });
  });
}
