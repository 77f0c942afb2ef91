/**
 * What the browser tests run against: the built UI and CLI (rebuilt when stale), a fake
 * Hugging Face hub, and a real `marduk-local serve` process with the fixture model in its
 * models folder, plus Debian's Chromium driven by playwright-core.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { startStandardFakeHub, type FakeHub } from "../fixtures/fakeHub/index.js";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startServeProcess, type ServeProcess } from "../helpers/serveProcess.js";

export const REPO_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const RESULTS_DIR = path.join(REPO_ROOT, "test-results");
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The fixture model's id in the test models folder. */
export const FIXTURE_MODEL_ID = "marduk-fixture";

/** Newest modification time of the files below `dir` (0 when it does not exist). */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const info = await stat(path.join(entry.parentPath, entry.name));
    newest = Math.max(newest, info.mtimeMs);
  }
  return newest;
}

async function mtimeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Builds what the serve process runs when its sources changed since the last build: the CLI
 * (`tsc -p tsconfig.cli.json` → out/node) and the UI (`electron-vite build` → out/renderer).
 */
export async function ensureBuilt(): Promise<void> {
  const src = (folder: string): string => path.join(REPO_ROOT, "src", folder);
  const shared = await newestMtime(src("shared"));
  const nodeSources = Math.max(shared, await newestMtime(src("core")), await newestMtime(src("cli")));
  if (nodeSources > (await mtimeOf(path.join(REPO_ROOT, "out/node/cli/main.js")))) {
    execFileSync("npx", ["tsc", "-p", "tsconfig.cli.json"], { cwd: REPO_ROOT, stdio: "inherit" });
  }
  const uiSources = Math.max(shared, await newestMtime(src("renderer")));
  if (uiSources > (await mtimeOf(path.join(REPO_ROOT, "out/renderer/index.html")))) {
    execFileSync("npx", ["electron-vite", "build"], { cwd: REPO_ROOT, stdio: "inherit", env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: "1" } });
  }
}

/** The window sizes the UI is checked at: a desktop window and a phone. */
export const VIEWPORTS = [
  { name: "desktop", width: 1400, height: 900 },
  { name: "phone", width: 390, height: 844 },
] as const;

/** Opens the UI served by `env` in `page` and waits until it is connected to the server. */
export async function openApp(env: Pick<UiEnvironment, "serve">, page: Page): Promise<void> {
  await page.goto(env.serve.url);
  await page.getByTestId("connection-status").getByText("Connected").waitFor();
}

export interface UiEnvironment {
  hub: FakeHub;
  serve: ServeProcess;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  modelsDir: string;
  /** A folder outside the models folder (files to import). */
  outsideDir: string;
  /** Errors the page threw or logged. */
  pageErrors: string[];
  /** Saves a full-page screenshot of `target` (default: the main page) as test-results/<name>.png. */
  screenshot(name: string, target?: Page): Promise<void>;
  dispose(): Promise<void>;
}

/** Starts the hub, the server (fixture model in its models folder) and a browser page on the UI. */
export async function startUiEnvironment(options: { hubThrottleBytesPerSecond?: number } = {}): Promise<UiEnvironment> {
  await ensureBuilt();
  await mkdir(RESULTS_DIR, { recursive: true });
  const root = await mkdtemp(path.join(os.tmpdir(), "marduk-e2e-"));
  const modelsDir = path.join(root, "models");
  const dataDir = path.join(root, "data");
  await mkdir(modelsDir, { recursive: true });
  await copyFile(await getFixtureModelPath(), path.join(modelsDir, `${FIXTURE_MODEL_ID}.gguf`));
  const hub = await startStandardFakeHub(options.hubThrottleBytesPerSecond ? { throttleBytesPerSecond: options.hubThrottleBytesPerSecond } : {});
  let serve: ServeProcess | undefined;
  let browser: Browser | undefined;
  try {
    serve = await startServeProcess(["--models-dir", modelsDir, "--data-dir", dataDir, "--threads", "1"], {
      HF_ENDPOINT: hub.url,
      HF_TOKEN: "",
      MARDUK_API_KEY: "",
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: "light" });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") pageErrors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400) pageErrors.push(`${response.status()} ${response.url()}`);
    });
    const started = { hub, serve, browser };
    return {
      ...started,
      context,
      page,
      modelsDir,
      outsideDir: root,
      pageErrors,
      async screenshot(name, target = page) {
        // Sticky parts (sidebar, banner) stay at the top of a full-page capture only from the top.
        await target.evaluate("window.scrollTo(0, 0)");
        await target.screenshot({ path: path.join(RESULTS_DIR, `${name}.png`), fullPage: true });
      },
      async dispose() {
        await browser?.close().catch(() => undefined);
        await serve?.stop().catch(() => undefined);
        await hub.close().catch(() => undefined);
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await browser?.close().catch(() => undefined);
    await serve?.stop().catch(() => undefined);
    await hub.close();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** How {@link useUiEnvironment} sets up the environment of a describe block. */
export interface UseUiEnvironmentOptions {
  /** Throttles the fake hub's downloads (bytes per second), so a download's progress stays visible. Default: not throttled. */
  hubThrottleBytesPerSecond?: number;
  /** The page's default timeout for actions and waits (ms). Default: 20_000. */
  pageTimeoutMs?: number;
  /** How long the whole setup (builds, server, browser, `beforeOpen`, opening the app, `afterOpen`) may take (ms). Default: 180_000. */
  setupTimeoutMs?: number;
  /** Runs once the environment started, before the app is opened (routes, files, viewport). Default: nothing. */
  beforeOpen?: (env: UiEnvironment) => Promise<void>;
  /** Runs once the app is connected to the server (e.g. to open a screen). Default: nothing. */
  afterOpen?: (env: UiEnvironment) => Promise<void>;
}

/** The environment {@link useUiEnvironment} started; read it in tests and hooks, not while the describe block is collected. */
export interface UiEnvironmentAccess {
  readonly env: UiEnvironment;
  /** The main page: `env.page`. */
  readonly page: Page;
}

/**
 * Registers the hooks of a describe block of browser tests: `beforeAll` starts the environment
 * ({@link startUiEnvironment}), sets the page's default timeout, runs `beforeOpen`, opens the app
 * ({@link openApp}) and runs `afterOpen`; `afterAll` disposes of the environment.
 */
export function useUiEnvironment(options: UseUiEnvironmentOptions = {}): UiEnvironmentAccess {
  const { hubThrottleBytesPerSecond, pageTimeoutMs = 20_000, setupTimeoutMs = 180_000, beforeOpen, afterOpen } = options;
  let started: UiEnvironment | undefined;
  beforeAll(async () => {
    const env = (started = await startUiEnvironment({ hubThrottleBytesPerSecond }));
    env.page.setDefaultTimeout(pageTimeoutMs);
    await beforeOpen?.(env);
    await openApp(env, env.page);
    await afterOpen?.(env);
  }, setupTimeoutMs);
  afterAll(async () => {
    await started?.dispose();
  });
  return {
    get env() {
      if (!started) throw new Error("The UI environment has not started (read it in tests and hooks only).");
      return started;
    },
    get page() {
      return this.env.page;
    },
  };
}
