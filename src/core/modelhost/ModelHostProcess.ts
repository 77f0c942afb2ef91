import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createProcessChannelTransport } from "../../shared/rpc/processChannelTransport.js";
import { createRpcClientFor, type RpcClientOf } from "../../shared/rpc/createRpcClient.js";
import type { RpcTransport } from "../../shared/rpc/protocol.js";
import type { Logger } from "../logger.js";
import { describeHostExit, OutputTail, type HostExit } from "./hostLastWords.js";
import { MODEL_HOST_MEMBERS, type ModelHostApi } from "./modelHostApi.js";

/** How a started host process ended, as its spawner reports it. */
export interface SpawnedHostExit {
  code: number | null;
  signal: string | null;
}

/**
 * A started model host process as the parent sees it: an RPC transport to it, its output, its
 * end, and a way to kill it. {@link forkModelHost} makes one with `child_process.fork`; the
 * desktop app may make one with Electron's `utilityProcess` (a transport over its
 * `postMessage` port, its `stdout`/`stderr` and its `exit` event) and inject it as `spawnHost`.
 */
export interface SpawnedHost {
  /** Undefined when the process could not be started. */
  readonly pid: number | undefined;
  readonly transport: RpcTransport;
  /** Registers a receiver of the host's raw output (stdout and stderr), chunk by chunk. */
  onOutput(listener: (chunk: string) => void): void;
  /** Resolves once the process has exited and its output is read to the end. */
  readonly exited: Promise<SpawnedHostExit>;
  /** Sends a signal (default: SIGKILL); ignored once the process has exited. */
  kill(signal?: NodeJS.Signals): void;
}

/** Starts a model host process with extra environment variables. */
export type SpawnModelHost = (options: { env: Record<string, string> }) => SpawnedHost;

/**
 * The host's entry and Node flags: the compiled `modelHostMain.js` next to this file when the
 * server runs from JavaScript (`out/node`), the `.ts` source through tsx when it runs from
 * TypeScript (tests, `npm run bench`).
 */
export function modelHostEntry(moduleUrl: string = import.meta.url): { entry: string; execArgv: string[] } {
  const fromSource = new URL(moduleUrl).pathname.endsWith(".ts");
  const entry = fileURLToPath(new URL(fromSource ? "./modelHostMain.ts" : "./modelHostMain.js", moduleUrl));
  const execArgv = fromSource ? ["--import", pathToFileURL(createRequire(moduleUrl).resolve("tsx")).href] : [];
  return { entry, execArgv };
}

/** Forks the model host entry as a Node child process with an IPC channel (structured clone). */
export const forkModelHost: SpawnModelHost = ({ env }) => {
  const { entry, execArgv } = modelHostEntry();
  const child = fork(entry, [], {
    serialization: "advanced",
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, ...env },
    execArgv,
  });
  const outputListeners: ((chunk: string) => void)[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      for (const listener of outputListeners) listener(chunk);
    });
  }
  // Output may still be arriving when the process exits: its last words are read to the end
  // (both pipes closed), or for at most a second should something else hold them open.
  const drained = Promise.all(
    [child.stdout, child.stderr].map((stream) => (stream ? new Promise<void>((resolve) => stream.once("close", () => resolve())) : undefined)),
  );
  const exited = new Promise<SpawnedHostExit>((resolve) => {
    child.once("exit", (code, signal) => {
      let timer: NodeJS.Timeout | undefined;
      const drainedOrLate = Promise.race([drained, new Promise<void>((late) => (timer = setTimeout(late, 1000)))]);
      void drainedOrLate.then(() => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    });
    child.once("error", () => {
      // Spawning failed (no "exit" follows).
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
  return {
    pid: child.pid,
    transport: createProcessChannelTransport(child),
    onOutput: (listener) => outputListeners.push(listener),
    exited,
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
};

/** Options of the watchdog of {@link ModelHostProcess}. */
export interface ModelHostWatchdogOptions {
  /** How often the host is pinged, in ms. Default: 2000. */
  intervalMs?: number;
  /** A host that has not answered a ping for this long is killed, in ms. Default: 10000. */
  timeoutMs?: number;
  /**
   * Longest silence of a host that is still starting or loading its model, in ms (loading a
   * native backend, CUDA's initialization say, can block a process for seconds). Default: 60000.
   */
  startupTimeoutMs?: number;
}

/** Options of {@link ModelHostProcess.start}. */
export interface ModelHostProcessOptions {
  /** Starts the process. Default: {@link forkModelHost}. */
  spawnHost?: SpawnModelHost;
  /** Extra environment variables of the host. Default: none. */
  env?: Record<string, string>;
  /** Default: see {@link ModelHostWatchdogOptions}. */
  watchdog?: ModelHostWatchdogOptions;
  /** Receives the host's log records and its output. */
  logger: Logger;
}

export const DEFAULT_WATCHDOG_INTERVAL_MS = 2000;
export const DEFAULT_WATCHDOG_TIMEOUT_MS = 10_000;
export const DEFAULT_WATCHDOG_STARTUP_TIMEOUT_MS = 60_000;
/** How long an unload may take before the host is killed. */
const UNLOAD_TIMEOUT_MS = 10_000;
/** How long a host that was told to go may take to exit. */
const EXIT_TIMEOUT_MS = 3000;

const PINO_LEVELS: Record<number, "trace" | "debug" | "info" | "warn" | "error" | "fatal"> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};

/**
 * One model host process, from the parent's side: it starts the process, offers the typed
 * channel to it ({@link api}), relays its log records, keeps its last words, and watches it:
 * a ping every 2 s, and a serving host that does not answer for 10 s is killed (one still
 * starting or loading, after 60 s). {@link exited} settles when the process is gone, however
 * it went (a crash, a kill, an unload).
 */
export class ModelHostProcess {
  readonly api: RpcClientOf<ModelHostApi>;
  /** Settles once the process is gone; `expected` is false for a crash. */
  readonly exited: Promise<HostExit>;
  /** When the process was started (`performance.now()`). */
  readonly startedAt = performance.now();
  private readonly spawned: SpawnedHost;
  private readonly tail = new OutputTail();
  private readonly log: Logger;
  private readonly watchdogTimer: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;
  private killedBecause: string | undefined;
  private serving = false;
  private gone = false;

  private constructor(options: ModelHostProcessOptions) {
    const spawnHost = options.spawnHost ?? forkModelHost;
    // The host logs at the server's level; its records come back through its output.
    this.spawned = spawnHost({ env: { MARDUK_LOG_LEVEL: options.logger.level, ...options.env } });
    this.log = options.logger.child({ modelHost: this.spawned.pid });
    this.api = createRpcClientFor<ModelHostApi>(MODEL_HOST_MEMBERS, this.spawned.transport);
    this.spawned.onOutput((chunk) => this.tail.write(chunk, (line) => this.relayLine(line)));
    this.exited = this.spawned.exited.then((exit) => {
      this.gone = true;
      clearInterval(this.watchdogTimer);
      this.api.dispose();
      this.spawned.transport.close();
      const hostExit: HostExit = {
        ...exit,
        lastLines: this.tail.snapshot(),
        ...(this.killedBecause ? { killedBecause: this.killedBecause } : {}),
        expected: this.stopping !== undefined && this.killedBecause === undefined,
      };
      if (!hostExit.expected) this.log.warn({ code: exit.code, signal: exit.signal, reason: describeHostExit(hostExit) }, "model host died");
      return hostExit;
    });
    this.watchdogTimer = this.startWatchdog(options.watchdog ?? {});
  }

  /** Starts a host process (it loads nothing until asked). */
  static start(options: ModelHostProcessOptions): ModelHostProcess {
    return new ModelHostProcess(options);
  }

  /** The host's process id. */
  get pid(): number | undefined {
    return this.spawned.pid;
  }

  /** False once the process is gone or its channel closed. */
  get alive(): boolean {
    return !this.gone && !this.api.closed;
  }

  /** Says that the host has loaded its model: from now on, the watchdog's shorter timeout applies. */
  markServing(): void {
    this.serving = true;
  }

  /** Kills the host now (a crash, as far as its requests are concerned), saying why. */
  kill(reason: string): void {
    if (this.gone) return;
    this.killedBecause ??= reason;
    this.spawned.kill("SIGKILL");
  }

  /**
   * Asks the host to unload its model and exit; kills it when it takes too long. Running
   * generations end with finish reason "abort" first. Resolves once the process is gone.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.alive) {
        const unload = this.api.host.unload({}).then(
          () => "unloaded" as const,
          () => "failed" as const,
        );
        if ((await withTimeout(unload, UNLOAD_TIMEOUT_MS)) === "timeout") {
          this.log.warn("the model host did not unload in time; killing it");
          this.spawned.kill("SIGKILL");
        }
        // The host exits when its channel closes.
        this.spawned.transport.close();
      }
      if ((await withTimeout(this.exited, EXIT_TIMEOUT_MS)) === "timeout") {
        this.spawned.kill("SIGKILL");
        await this.exited;
      }
    })();
    return this.stopping;
  }

  private startWatchdog({ intervalMs = DEFAULT_WATCHDOG_INTERVAL_MS, timeoutMs = DEFAULT_WATCHDOG_TIMEOUT_MS, startupTimeoutMs = DEFAULT_WATCHDOG_STARTUP_TIMEOUT_MS }: ModelHostWatchdogOptions): NodeJS.Timeout {
    let answeredAt: number | undefined;
    let pinging = false;
    const timer = setInterval(() => {
      if (this.gone || this.stopping) return;
      const silentForMs = performance.now() - (answeredAt ?? this.startedAt);
      const limitMs = this.serving ? timeoutMs : startupTimeoutMs;
      if (silentForMs > limitMs) {
        this.kill(`the model host stopped answering for ${Math.round(silentForMs / 1000)} s and was killed by the watchdog`);
        return;
      }
      if (pinging) return;
      pinging = true;
      this.api.host.ping({}).then(
        () => {
          answeredAt = performance.now();
          pinging = false;
        },
        () => (pinging = false),
      );
    }, intervalMs);
    timer.unref();
    return timer;
  }

  /**
   * Relays one line of the host's output: its log records go to the logger (errors are also kept
   * as last words); raw lines (native asserts, V8's fatal errors) are kept, and logged at debug.
   */
  private relayLine(line: string): void {
    if (line.startsWith("{")) {
      let record: Record<string, unknown> | undefined;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not a log record: raw output.
      }
      if (record) {
        const { level, msg, time: _time, pid: _pid, hostname: _hostname, app: _app, ...fields } = record;
        const method = PINO_LEVELS[typeof level === "number" ? level : 30] ?? "info";
        const message = typeof msg === "string" ? msg : "";
        this.log[method](fields, message);
        if (typeof level === "number" && level >= 50 && message) this.tail.keep(message);
        return;
      }
    }
    if (line.trim() === "") return;
    this.tail.keep(line);
    this.log.debug({ output: line }, "model host output");
  }
}

/** The promise's value, or "timeout" when it takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
