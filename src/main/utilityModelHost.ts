import { createMessagePortTransport } from "../shared/rpc/messagePortTransport.js";
import type { SpawnedHostExit, SpawnModelHost } from "../core/modelhost/ModelHostProcess.js";

/**
 * What the spawner needs of an Electron `UtilityProcess` (structural, so plain-Node tests can
 * drive it with a stand-in built on `child_process.fork`).
 */
export interface UtilityProcessLike {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  kill(): boolean;
  on(event: "spawn", listener: () => void): unknown;
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "exit", listener: (code: number) => void): unknown;
  on(event: "error", listener: (type: string, location: string, report: string) => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
}

/** `utilityProcess.fork`'s shape, as far as the spawner uses it. */
export type ForkUtilityProcess = (
  modulePath: string,
  args: string[],
  options: { env: Record<string, string | undefined>; execArgv: string[]; stdio: "pipe"; serviceName: string },
) => UtilityProcessLike;

/** Options of {@link utilityProcessSpawner}. */
export interface UtilityProcessSpawnerOptions {
  /** Electron's `utilityProcess.fork` (or a stand-in in tests). */
  fork: ForkUtilityProcess;
  /** The model host's bundled entry (`out/main/modelHost.js` next to the main bundle). */
  entry: string;
  /** Node flags of the host. Default: none. */
  execArgv?: string[];
}

/** How long an exited process's output may take to be read to the end. */
const OUTPUT_DRAIN_MS = 1000;

/**
 * Starts model hosts as Electron utility processes: Chromium's own child processes, which
 * Electron reaps with the app, report fatal V8 errors and crash reports, and run Node without a
 * separate `node` binary. The RPC channel is the process's message port (structured clone); the
 * host picks `process.parentPort` when it has one.
 */
export function utilityProcessSpawner(options: UtilityProcessSpawnerOptions): SpawnModelHost {
  return ({ env }) => {
    const child = options.fork(options.entry, [], {
      env: { ...process.env, ...env },
      execArgv: options.execArgv ?? [],
      stdio: "pipe",
      serviceName: "Marduk Local model host",
    });
    // `pid` is undefined until the process has spawned and again after it exited: keep it.
    let pid = child.pid;
    child.on("spawn", () => (pid = child.pid));
    let signalSent: NodeJS.Signals | undefined;
    let hasExited = false;

    const outputListeners: ((chunk: string) => void)[] = [];
    const emitOutput = (chunk: string): void => {
      for (const listener of outputListeners) listener(chunk);
    };
    const streams = [child.stdout, child.stderr].filter((stream): stream is NodeJS.ReadableStream => stream !== null);
    for (const stream of streams) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => emitOutput(chunk));
    }
    // A fatal V8 error (a template that exhausts the heap, say) comes as an event with its report:
    // those are the host's last words.
    child.on("error", (type, location, report) => emitOutput(`\n${type} in ${location}\n${report.split("\n").slice(0, 20).join("\n")}\n`));

    const transport = createMessagePortTransport({
      post: (message) => child.postMessage(message),
      subscribe: (listener) => {
        child.on("message", listener);
        return () => child.off("message", listener);
      },
    });
    const drained = Promise.all(streams.map((stream) => new Promise<void>((resolve) => stream.once("end", () => resolve()))));
    const exited = new Promise<SpawnedHostExit>((resolve) => {
      child.on("exit", (code) => {
        hasExited = true;
        transport.otherSideGone();
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((done) => (timer = setTimeout(done, OUTPUT_DRAIN_MS)));
        void Promise.race([drained, late]).then(() => {
          clearTimeout(timer);
          // Electron reports only an exit code; a signal we sent is known here.
          resolve({ code: signalSent ? null : code, signal: signalSent ?? null });
        });
      });
    });

    return {
      get pid() {
        return pid;
      },
      transport,
      onOutput: (listener) => outputListeners.push(listener),
      exited,
      kill: (signal = "SIGKILL") => {
        if (hasExited) return;
        if (pid === undefined) {
          child.kill();
          return;
        }
        try {
          // UtilityProcess.kill() only sends SIGTERM, which a hung host may never act on.
          process.kill(pid, signal);
          signalSent = signal;
        } catch {
          // Already gone.
        }
      },
    };
  };
}
