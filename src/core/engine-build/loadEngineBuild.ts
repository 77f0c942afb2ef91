import { stat } from "node:fs/promises";
import type { getLlama as GetLlama, Llama, LlamaOptions } from "node-llama-cpp";
import type { EngineBuildInfo, EngineGpu } from "../../shared/contract/engine.js";
import type { Backend } from "../llama/backend.js";
import type { Logger } from "../logger.js";
import { cpuFingerprint } from "./cpuFingerprint.js";
import { describeBuild } from "./describeBuild.js";
import { describeLlamaLoadError } from "./llamaLoadError.js";
import { defaultLocalBuildsDir, localBuildBinaryPath } from "./engineBuildPaths.js";
import { forkEngineWorker, type SpawnEngineWorker } from "./engineWorkerProcess.js";
import { describeRecordedBuild, writeLocalBuildRecord, type LocalBuildRecord } from "./localBuildRecord.js";
import { selectEngineBuild } from "./selectEngineBuild.js";

/** How long a local build may take to load in the check process. */
const PROBE_TIMEOUT_MS = 60_000;

/** getLlama's options that {@link loadEngineBuild} does not decide (threads, log level, logger). */
export type CommonLlamaOptions = Omit<LlamaOptions, "gpu" | "build" | "cmakeOptions" | "usePrebuiltBinaries" | "skipDownload" | "progressLogs">;

/** Options of {@link loadEngineBuild}. */
export interface LoadEngineBuildOptions {
  /** The engine folder of the data dir; undefined: the prebuilt binary, no local build is looked for. */
  engineDir?: string;
  /** Default: "auto". */
  backend?: Backend;
  llamaOptions: CommonLlamaOptions;
  logger?: Logger;
  /** Default: node-llama-cpp's getLlama (imported when needed). */
  getLlama?: typeof GetLlama;
  /** Starts the check process of a local build. Default: {@link forkEngineWorker}. */
  spawnWorker?: SpawnEngineWorker;
  /** Default: node-llama-cpp's `llama/localBuilds`. */
  localBuildsDir?: string;
  /** Default: this machine's {@link cpuFingerprint}. */
  cpu?: string;
}

function gpuOption(gpu: EngineGpu | Backend): LlamaOptions["gpu"] {
  return gpu === "cpu" ? false : gpu;
}

/** The build info of a loaded runtime. */
export function describeLoadedBuild(llama: Llama, record: LocalBuildRecord | undefined, fallbackReason: string | undefined): EngineBuildInfo {
  const local = llama.buildType === "localBuild" && record !== undefined;
  return {
    kind: local ? "local" : "prebuilt",
    gpu: llama.gpu === false ? "cpu" : llama.gpu,
    llamaCppRelease: llama.llamaCppRelease.release,
    native: local ? describeRecordedBuild(record).native : false,
    openmp: /OPENMP\s*=\s*1/.test(llama.systemInfo),
    ...(fallbackReason ? { fallbackReason } : {}),
    source: "runtime",
  };
}

/**
 * Runs the local build once in a child process (its outcome cannot crash this one) and, when it
 * loads, records what it was verified on. Returns why it cannot be used, or undefined.
 */
async function verifyInChildProcess(record: LocalBuildRecord, options: LoadEngineBuildOptions, localBuildsDir: string, cpu: string): Promise<string | undefined> {
  const spawnWorker = options.spawnWorker ?? forkEngineWorker;
  const run = spawnWorker({ mode: "probe", gpu: record.gpu, cmakeOptions: record.cmakeOptions, localBuildsDir }, {}, { timeoutMs: PROBE_TIMEOUT_MS });
  const outcome = await run.outcome;
  const problem = !outcome.ok ? outcome.error : outcome.buildType !== "localBuild" ? `node-llama-cpp loaded its ${outcome.buildType} binary instead` : undefined;
  const binary = await stat(localBuildBinaryPath(localBuildsDir, record.folderName)).catch(() => undefined);
  if (binary && options.engineDir) {
    const seen = { cpu, binarySizeBytes: binary.size, binaryMtimeMs: Math.trunc(binary.mtimeMs) };
    // Either way the outcome is kept: later starts on this CPU need not run the check again.
    const { rejected: _previous, ...rest } = record;
    const updated: LocalBuildRecord = problem
      ? { ...record, rejected: { ...seen, reason: problem.slice(0, 2000) } }
      : { ...rest, verified: { ...seen, systemInfo: outcome.ok ? outcome.systemInfo.slice(0, 4000) : "" } };
    await writeLocalBuildRecord(options.engineDir, updated).catch((error: Error) =>
      options.logger?.debug({ err: error }, "could not update the local build record (the check runs again next start)"),
    );
  }
  return problem;
}

/**
 * Creates the llama.cpp binding: the local build on record in the engine folder when there is
 * one that fits (see selectEngineBuild) and loads, else node-llama-cpp's prebuilt binary. Any
 * problem with the local build (absent files, a damaged record, a load error, a crash of the
 * check process) falls back to the prebuilt binary and says why, in the log and in the
 * returned build info; it never fails the runtime. Never builds or downloads (`build: "never"`).
 */
export async function loadEngineBuild(options: LoadEngineBuildOptions): Promise<{ llama: Llama; build: EngineBuildInfo }> {
  const backend = options.backend ?? "auto";
  const getLlama = options.getLlama ?? (await import("node-llama-cpp")).getLlama;
  const fixed = { build: "never", skipDownload: true, progressLogs: false } as const;
  let fallbackReason: string | undefined;

  if (options.engineDir) {
    const localBuildsDir = options.localBuildsDir ?? defaultLocalBuildsDir();
    const cpu = options.cpu ?? cpuFingerprint();
    const choice = await selectEngineBuild({ engineDir: options.engineDir, backend, localBuildsDir, cpu }).catch(
      (error: Error) => ({ kind: "prebuilt", reason: `the local build could not be checked (${error.message})` }) as const,
    );
    if (choice.kind === "prebuilt") fallbackReason = choice.reason;
    else {
      const problem = choice.verifyBecause ? await verifyInChildProcess(choice.record, options, localBuildsDir, cpu) : undefined;
      if (problem) fallbackReason = `the local build failed its check in a child process (${choice.verifyBecause}): ${problem}`;
      else {
        try {
          const llama = await getLlama({ ...options.llamaOptions, ...fixed, gpu: gpuOption(choice.record.gpu), cmakeOptions: choice.record.cmakeOptions, usePrebuiltBinaries: false });
          if (llama.buildType === "localBuild") {
            const build = describeLoadedBuild(llama, choice.record, undefined);
            options.logger?.info({ engine: build }, `llama.cpp: using the local build (${describeBuild(build)})`);
            return { llama, build };
          }
          await llama.dispose();
          fallbackReason = `node-llama-cpp loaded its ${llama.buildType} binary instead of the local build`;
        } catch (error) {
          fallbackReason = `the local build failed to load: ${describeLlamaLoadError(error)}`;
        }
      }
    }
  }

  const llama = await getLlama({ ...options.llamaOptions, ...fixed, gpu: gpuOption(backend) });
  const build = describeLoadedBuild(llama, undefined, fallbackReason);
  if (fallbackReason) options.logger?.warn({ engine: build }, `llama.cpp: using the prebuilt binary, because ${fallbackReason}`);
  else options.logger?.debug({ engine: build }, `llama.cpp: using the prebuilt binary (${describeBuild(build)})`);
  return { llama, build };
}
