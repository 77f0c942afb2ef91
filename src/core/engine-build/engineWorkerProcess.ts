import { execFile, fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { OutputTail } from "../modelhost/hostLastWords.js";
import type { WorkerMessage, WorkerRequest } from "./engineBuildWorker.js";

/** How a worker run ended. */
export type WorkerOutcome =
  | Extract<WorkerMessage, { type: "result"; ok: true }>
  | { type: "result"; ok: false; error: string; cancelled?: boolean; lastLines: string[] };

/** A running worker: its outcome, and a way to stop it (with everything it started). */
export interface EngineWorkerRun {
  readonly outcome: Promise<WorkerOutcome>;
  cancel(): void;
}

/** What the caller hears while a worker runs. */
export interface EngineWorkerHandlers {
  /** Each line of its output (compiler output included). */
  onLine?(line: string): void;
  /** It moved to verifying the build it made. */
  onVerifying?(): void;
}

/** Starts a worker; injectable so that tests never compile. */
export type SpawnEngineWorker = (request: WorkerRequest, handlers: EngineWorkerHandlers, options?: { timeoutMs?: number }) => EngineWorkerRun;

/**
 * The worker's entry and Node flags, like the model host's (modelHostEntry): the compiled
 * `engineBuildWorker.js` next to this file, or the `.ts` source through tsx. `undefined` when
 * the entry is not there (the desktop app's bundle does not ship it).
 */
export function engineWorkerEntry(moduleUrl: string = import.meta.url): { entry: string; execArgv: string[] } | undefined {
  const fromSource = new URL(moduleUrl).pathname.endsWith(".ts");
  const entry = fileURLToPath(new URL(fromSource ? "./engineBuildWorker.ts" : "./engineBuildWorker.js", moduleUrl));
  if (!existsSync(entry)) return undefined;
  const execArgv = fromSource ? ["--import", pathToFileURL(createRequire(moduleUrl).resolve("tsx")).href] : [];
  return { entry, execArgv };
}

/** Ends a process and its children: a build runs npm, cmake, ninja and compilers under the worker. */
function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (process.platform === "win32") {
    execFile("taskkill", ["/pid", String(child.pid), "/T", "/F"], () => undefined);
    return;
  }
  try {
    // The worker leads its own process group (detached): the minus sign reaches all of it.
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Forks the worker entry with an IPC channel; its output is read line by line. */
export const forkEngineWorker: SpawnEngineWorker = (request, handlers, options = {}) => {
  const found = engineWorkerEntry();
  if (!found) {
    const error = "the engine build worker is not part of this installation (run marduk-local from its npm package or the source tree)";
    return { outcome: Promise.resolve({ type: "result", ok: false, error, lastLines: [] }), cancel: () => undefined };
  }
  const child = fork(found.entry, [JSON.stringify(request)], {
    execArgv: found.execArgv,
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    detached: process.platform !== "win32",
    // No colour codes in the lines we parse; Electron's binary runs as Node.
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...(process.versions.electron ? { ELECTRON_RUN_AS_NODE: "1" } : {}) },
  });
  const tail = new OutputTail(60, 2000);
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) =>
      tail.write(chunk, (line) => {
        tail.keep(line);
        handlers.onLine?.(line);
      }),
    );
  }
  let result: WorkerOutcome | undefined;
  let cancelled = false;
  let timedOut = false;
  child.on("message", (message: WorkerMessage) => {
    if (message?.type === "phase") handlers.onVerifying?.();
    else if (message?.type === "result") result = message.ok ? message : { ...message, lastLines: [] };
  });
  let forceTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    killTree(child, "SIGTERM");
    forceTimer ??= setTimeout(() => killTree(child, "SIGKILL"), 5000);
    forceTimer.unref();
  };
  const timeout = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        stop();
      }, options.timeoutMs)
    : undefined;
  const outcome = new Promise<WorkerOutcome>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      clearTimeout(timeout);
      clearTimeout(forceTimer);
      const lastLines = tail.snapshot();
      if (cancelled) resolve({ type: "result", ok: false, error: "the build was cancelled", cancelled: true, lastLines });
      else if (timedOut) resolve({ type: "result", ok: false, error: `the worker did not finish within ${options.timeoutMs} ms`, lastLines });
      else if (result?.ok) resolve(result);
      else if (result) resolve({ ...result, lastLines });
      else if (spawnError) resolve({ type: "result", ok: false, error: `the worker could not start: ${spawnError.message}`, lastLines });
      else resolve({ type: "result", ok: false, error: signal ? `the worker was killed by ${signal}` : `the worker exited with code ${code}`, lastLines });
    };
    child.once("exit", (code, signal) => {
      // Its last output may still be in the pipes.
      let late: NodeJS.Timeout | undefined;
      const drained = Promise.all([child.stdout, child.stderr].map((stream) => (stream && !stream.readableEnded ? new Promise((done) => stream.once("close", done)) : undefined)));
      void Promise.race([drained, new Promise((done) => (late = setTimeout(done, 1000)))]).then(() => {
        clearTimeout(late);
        finish(code, signal);
      });
    });
    child.once("error", (error) => {
      if (child.pid === undefined) finish(null, null, error);
    });
  });
  return {
    outcome,
    cancel() {
      if (result) return;
      cancelled = true;
      stop();
    },
  };
};
