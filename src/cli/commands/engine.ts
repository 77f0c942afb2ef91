import path from "node:path";
import { defaultDataDir } from "../../core/appPaths.js";
import { describeBuild } from "../../core/engine-build/describeBuild.js";
import type { EngineBuilder } from "../../core/engine-build/EngineBuilder.js";
import type { EngineBuildProgress, EngineGpu, EngineStatus } from "../../shared/contract/engine.js";
import { CliUsageError } from "../cliError.js";
import { parseCommandArgs } from "../parseCommandArgs.js";

export const ENGINE_HELP = `Usage: marduk-local engine <status|build|reset> [options]

The llama.cpp engine: node-llama-cpp's prebuilt binary (generic CPU code, no OpenMP), or a build
compiled on this machine: native CPU instructions (GGML_NATIVE), OpenMP threads, and CUDA or
Vulkan when their toolchain and a GPU are found. The build is offline: llama.cpp's source comes
from the git bundle node-llama-cpp ships. It takes minutes (about 8 on 2 cores) and needs cmake
and a C++ compiler; the server and the app pick it up when llama.cpp starts again (a model
loaded afterwards, or a restart), and fall back to the prebuilt binary, saying why, when the
local build is missing or does not load. It is not faster on every machine (the prebuilt
binary's CPU variants can use kernels a local build cannot): measure, and \`reset\` if not.

Commands:
  status   Which build runs, the local build on record, the GPU toolchains found
  build    Compile llama.cpp for this machine and record it in the data folder
  reset    Forget the local build: the prebuilt binary is used from the next start

Options:
  --data-dir <dir>  App data folder, where the build is recorded (default: env MARDUK_DATA_DIR,
                    else ${defaultDataDir({}, process.platform)})
  --gpu <backend>   build: auto | cuda | vulkan | metal | cpu (default auto: the first GPU whose
                    toolchain and driver are found, else the CPU)
  --json            status: machine-readable
  -h, --help        Show this help
`;

const ACTIONS = ["status", "build", "reset"] as const;
const BUILD_GPUS = ["auto", "cuda", "vulkan", "metal", "cpu"] as const;

export interface EngineCommandOptions {
  action: (typeof ACTIONS)[number];
  dataDir: string;
  gpu: EngineGpu | "auto";
  json: boolean;
}

/** Parses `engine <action> [options]`. @throws CliUsageError */
export function parseEngineArgs(args: string[], env: NodeJS.ProcessEnv = process.env): EngineCommandOptions | "help" {
  const { values, positionals } = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      "data-dir": { type: "string" },
      gpu: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length !== 1) throw new CliUsageError(`expected one of ${ACTIONS.join(", ")} (see --help)`);
  const action = positionals[0] as EngineCommandOptions["action"];
  if (!ACTIONS.includes(action)) throw new CliUsageError(`unknown engine command '${positionals[0]}': expected one of ${ACTIONS.join(", ")}`);
  const gpu = (values.gpu ?? "auto") as EngineCommandOptions["gpu"];
  if (!BUILD_GPUS.includes(gpu)) throw new CliUsageError(`--gpu must be one of ${BUILD_GPUS.join(", ")}, got '${values.gpu}'`);
  if (values.gpu !== undefined && action !== "build") throw new CliUsageError("--gpu only applies to engine build");
  if (values.json && action !== "status") throw new CliUsageError("--json only applies to engine status");
  return { action, dataDir: path.resolve(values["data-dir"] ?? (env.MARDUK_DATA_DIR || defaultDataDir(env))), gpu, json: values.json ?? false };
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds >= 60 ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `${seconds}s`;
}

/** One progress line: "[ 42%] compiling 120/281 ggml-cpu.c". */
export function formatProgressLine(progress: EngineBuildProgress): string {
  const percent = `${Math.floor(progress.percent)}%`.padStart(4);
  const steps = progress.phase === "compiling" && progress.step !== undefined ? ` ${progress.step}/${progress.steps}` : "";
  return `[${percent}] ${progress.phase}${steps} ${progress.message}`.slice(0, 160);
}

function printStatus(status: EngineStatus, verifyNote: string | undefined): void {
  const { current } = status;
  const rows: Array<[string, string]> = [["In use", describeBuild(current)]];
  if (current.fallbackReason) rows.push(["", `not the local build: ${current.fallbackReason}`]);
  if (verifyNote) rows.push(["", `checked in a child process at the next start: ${verifyNote}`]);
  rows.push(["Local build", status.localBuild ? `${status.localBuild.gpu}, built ${new Date(status.localBuild.builtAt).toISOString()}` : "none"]);
  for (const toolchain of status.toolchains) rows.push([toolchain.gpu.toUpperCase(), `${toolchain.usable ? "usable" : "not usable"}: ${toolchain.detail}`]);
  rows.push(["Can build", status.canBuild ? "yes (marduk-local engine build)" : `no: ${status.cannotBuildReason}`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
}

async function build(builder: EngineBuilder, options: EngineCommandOptions, engineDir: string): Promise<number> {
  const interactive = process.stderr.isTTY === true;
  let lastPrinted = "";
  let lastPercentStep = -1;
  const show = (progress: EngineBuildProgress): void => {
    const line = formatProgressLine(progress);
    if (interactive) process.stderr.write(`\r${line.padEnd(lastPrinted.length)}`);
    else {
      // Logs get a line per phase and per 5%, not one per compiler step.
      const percentStep = Math.floor(progress.percent / 5);
      if (progress.phase === "compiling" && percentStep === lastPercentStep) return;
      lastPercentStep = percentStep;
      process.stderr.write(`${line}\n`);
    }
    lastPrinted = line;
  };
  builder.onProgress(show);
  const toolchains = await builder.toolchains();
  for (const toolchain of toolchains) process.stderr.write(`${toolchain.gpu}: ${toolchain.usable ? "usable" : "not used"} (${toolchain.detail})\n`);
  const started = await builder.start({ gpu: options.gpu });
  process.stderr.write(`Building llama.cpp for ${started.gpu === "cpu" ? "the CPU" : started.gpu} (native CPU, OpenMP), offline from node-llama-cpp's bundled source.\n`);
  const cancel = (): void => {
    process.stderr.write("\nCancelling the build...\n");
    builder.cancel();
  };
  process.once("SIGINT", cancel);
  process.once("SIGTERM", cancel);
  let ended: EngineBuildProgress | undefined;
  try {
    ended = await builder.whenIdle();
  } finally {
    process.off("SIGINT", cancel);
    process.off("SIGTERM", cancel);
  }
  if (interactive) process.stderr.write("\n");
  if (!ended || ended.phase !== "done") {
    process.stderr.write(`${ended?.phase === "cancelled" ? "Cancelled" : "Failed"}: ${ended?.error ?? ended?.message ?? "unknown"}\n`);
    return ended?.phase === "cancelled" ? 130 : 1;
  }
  process.stdout.write(
    `Built llama.cpp for this machine in ${formatDuration((ended.endedAt ?? Date.now()) - ended.startedAt)}, recorded in ${engineDir}.\n` +
      "marduk-local serve and the app use it when llama.cpp starts again (models loaded from now on, or after a restart).\n",
  );
  return 0;
}

/** `marduk-local engine <status|build|reset>`. */
export async function engineCommand(args: string[]): Promise<number> {
  const options = parseEngineArgs(args);
  if (options === "help") {
    process.stdout.write(ENGINE_HELP);
    return 0;
  }
  const { engineDirOf } = await import("../../core/engine-build/engineBuildPaths.js");
  const engineDir = engineDirOf(options.dataDir);
  if (options.action === "reset") {
    const { removeLocalBuildRecord } = await import("../../core/engine-build/localBuildRecord.js");
    await removeLocalBuildRecord(engineDir);
    process.stdout.write(`Forgot the local build recorded in ${engineDir}: the prebuilt binary is used from the next start.\n`);
    return 0;
  }
  const { EngineBuilder } = await import("../../core/engine-build/EngineBuilder.js");
  const builder = new EngineBuilder({ engineDir });
  try {
    if (options.action === "build") return await build(builder, options, engineDir);
    const { describeChoice, selectEngineBuild } = await import("../../core/engine-build/selectEngineBuild.js");
    const { readEngineStatus } = await import("../../core/engine-build/engineStatus.js");
    const choice = await selectEngineBuild({ engineDir });
    const status = await readEngineStatus(builder, describeChoice(choice));
    if (options.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    else printStatus(status, choice.kind === "local" ? choice.verifyBecause : undefined);
    return 0;
  } finally {
    await builder.dispose();
  }
}
