/**
 * `npm run bench:startup`: how fast the built `marduk-local serve` starts with no model. Starts
 * it BENCH_RUNS times (default 10) with an empty models dir and prints min/median/max of the
 * time from spawning the process to its "listening on" line, and to the first successful
 * `GET /health` (sent as soon as that line arrives, retried until it answers 200). One
 * unmeasured run first warms the file cache and creates the database, so the measured runs are
 * restarts. On Linux it also prints the CPU time the server's main thread had used when its
 * line arrived (read just after, so a little high), which other load on the machine sways less
 * than wall time. Needs `npm run build:node` first.
 *
 * Options (env): BENCH_RUNS (default 10); BENCH_CLI, comma-separated paths of marduk-local.js
 * entry points to compare (a build of an older commit, say), run interleaved so that a busy
 * machine weighs on each alike (default: this checkout's bin/marduk-local.js).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "./benchClient.js";

const runs = Number(process.env.BENCH_RUNS ?? 10);
const cliPaths = (process.env.BENCH_CLI ?? fileURLToPath(new URL("../bin/marduk-local.js", import.meta.url))).split(",").filter(Boolean);

interface StartupMeasure {
  listeningMs: number;
  healthMs: number;
  /** CPU time of the server's main thread when its line arrived (Linux), less swayed by other load than wall time. */
  listeningCpuMs?: number;
}

/** CPU time the process's main thread has run, from /proc (Linux); undefined elsewhere. */
function mainThreadCpuMs(pid: number | undefined): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** One start: spawn, wait for the URL, GET /health until 200, then SIGINT and wait for the exit. */
async function measureOnce(cliPath: string, dataDir: string): Promise<StartupMeasure> {
  const modelsDir = mkdtempSync(path.join(os.tmpdir(), "marduk-startup-bench-models-"));
  const started = performance.now();
  const child = spawn(process.execPath, [cliPath, "serve", "--port", "0", "--models-dir", modelsDir, "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let listeningCpuMs: number | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        const listening = /listening on (http:\/\/\S+)/.exec(output);
        if (!listening) return;
        listeningCpuMs = mainThreadCpuMs(child.pid);
        child.stdout!.off("data", onData).resume();
        resolve(listening[1]!);
      };
      child.stdout!.on("data", onData);
      void exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${output}`)));
    });
    const listeningMs = performance.now() - started;
    for (;;) {
      const response = await fetch(`${url}/health`).catch(() => undefined);
      if (response?.status === 200) {
        await response.json();
        break;
      }
      await response?.body?.cancel();
      if (child.exitCode !== null) throw new Error("serve exited before /health answered");
    }
    return { listeningMs, healthMs: performance.now() - started, ...(listeningCpuMs !== undefined ? { listeningCpuMs } : {}) };
  } finally {
    if (child.exitCode === null) child.kill("SIGINT");
    await exited;
    rmSync(modelsDir, { recursive: true, force: true });
  }
}

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const format = (value: number) => `${Math.round(value)} ms`.padStart(8);
  return `  ${label.padEnd(24)} min ${format(sorted[0]!)}  median ${format(median(sorted))}  max ${format(sorted.at(-1)!)}`;
}

async function main(): Promise<void> {
  const dataDirs = cliPaths.map(() => mkdtempSync(path.join(os.tmpdir(), "marduk-startup-bench-data-")));
  const measures = cliPaths.map((): StartupMeasure[] => []);
  try {
    for (const [index, cliPath] of cliPaths.entries()) await measureOnce(cliPath, dataDirs[index]!);
    for (let run = 0; run < runs; run++) {
      for (const [index, cliPath] of cliPaths.entries()) measures[index]!.push(await measureOnce(cliPath, dataDirs[index]!));
    }
  } finally {
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`marduk-local serve start-up, no model, ${runs} runs each (node ${process.version}, ${os.cpus().length} CPUs)`);
  for (const [index, cliPath] of cliPaths.entries()) {
    console.log(cliPath);
    console.log(summary("spawn -> listening", measures[index]!.map((measure) => measure.listeningMs)));
    console.log(summary("spawn -> GET /health", measures[index]!.map((measure) => measure.healthMs)));
    const cpu = measures[index]!.flatMap((measure) => (measure.listeningCpuMs === undefined ? [] : [measure.listeningCpuMs]));
    if (cpu.length > 0) console.log(summary("main-thread CPU by then", cpu));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
