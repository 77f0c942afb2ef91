import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, open, readdir, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { EngineBuildProgress, EngineGpu, EngineToolchain } from "../../shared/contract/engine.js";
import { InvalidArgumentError, MardukError, UnsupportedError } from "../errors.js";
import type { Logger } from "../logger.js";
import { pickLastWords } from "../modelhost/hostLastWords.js";
import { BuildProgressTracker } from "./buildProgress.js";
import { cpuFingerprint } from "./cpuFingerprint.js";
import { chooseBuildGpu, detectGpuToolchains, systemToolchainProbes, type ToolchainProbes } from "./detectGpuToolchains.js";
import { buildLockPath, defaultLocalBuildsDir, localBuildBinaryPath, nodeLlamaCppVersion } from "./engineBuildPaths.js";
import { engineWorkerEntry, forkEngineWorker, type EngineWorkerRun, type SpawnEngineWorker } from "./engineWorkerProcess.js";
import { LOCAL_BUILD_RECORD_VERSION, readLocalBuildRecord, writeLocalBuildRecord, type LocalBuildRecord } from "./localBuildRecord.js";

/** Options of {@link EngineBuilder}. */
export interface EngineBuilderOptions {
  /** The engine folder of the data dir, where the finished build is recorded. */
  engineDir: string;
  logger?: Logger;
  /** Starts the build's child process. Default: {@link forkEngineWorker} (tests inject a fake: no compiling). */
  spawnWorker?: SpawnEngineWorker;
  /** Default: node-llama-cpp's `llama/localBuilds`. */
  localBuildsDir?: string;
  /** Default: the machine's (PATH, node-llama-cpp's driver detection). */
  toolchainProbes?: ToolchainProbes;
  /** Default: this machine's {@link cpuFingerprint}. */
  cpu?: string;
  /** Shortest time between two progress events that only change the message, in ms. Default: 250. */
  progressIntervalMs?: number;
}

/**
 * Release flags that keep -march=native from enabling AMX (see {@link buildCmakeOptions}).
 * The `_RELEASE` variables, because cmake-js sets CMAKE_CXX_FLAGS itself and drops ours.
 */
const RELEASE_FLAGS_WITHOUT_AMX = "-O3 -DNDEBUG -mno-amx-tile -mno-amx-int8 -mno-amx-bf16";

/**
 * The cmake options of a build: tuned for this CPU, threads on OpenMP (llama.cpp's defaults
 * for a build of its own, which node-llama-cpp's prebuilt binaries turn off), plus a build id.
 * The id is not a llama.cpp option (cmake notes it as unused): it makes node-llama-cpp's folder
 * name, a hash of the options, new for every build, so a build never overwrites the one in use
 * and the record switches from one to the other at once when the new one is verified.
 *
 * On x64 (GCC or Clang) AMX stays off: with -march=native on a CPU that has it, llama.cpp
 * v0.4.0 multiplies Q8_0 weights with its AMX kernels, which crash (SIGILL in
 * `tinygemm_kernel_amx`, SIGSEGV in `ggml_backend_amx_mul_mat`) on some Sapphire Rapids
 * machines, this project's CI machine among them (ggml-org/llama.cpp#20824, open). AMX speeds
 * up prompt processing, not decoding, which reads memory; AVX-512/VNNI stay on.
 */
export function buildCmakeOptions(buildId: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): Record<string, string> {
  const noAmx: Record<string, string> =
    arch === "x64" && platform !== "win32" ? { CMAKE_C_FLAGS_RELEASE: RELEASE_FLAGS_WITHOUT_AMX, CMAKE_CXX_FLAGS_RELEASE: RELEASE_FLAGS_WITHOUT_AMX } : {};
  return { GGML_NATIVE: "ON", GGML_OPENMP: "ON", ...noAmx, MARDUK_BUILD_ID: buildId };
}

interface RunningBuild {
  tracker: BuildProgressTracker;
  worker: EngineWorkerRun;
  done: Promise<EngineBuildProgress>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Compiles llama.cpp for this machine in a child process (see engineBuildWorker) and records the
 * verified result in the engine folder, where runtimes started afterwards find it. One build at
 * a time per node-llama-cpp installation (a lock file next to its `localBuilds`); progress comes
 * from the build's output. The build in use is never touched until the new one is verified.
 */
export class EngineBuilder {
  private running: RunningBuild | undefined;
  private starting: Promise<EngineBuildProgress> | undefined;
  private last: EngineBuildProgress | undefined;
  private readonly listeners = new Set<(progress: EngineBuildProgress) => void>();
  private readonly localBuildsDir: string;
  private toolchainsDetected: Promise<EngineToolchain[]> | undefined;
  private lastEmitAt = 0;
  /** True once a build finished in this process: it takes effect when llama.cpp starts again. */
  builtHere = false;

  constructor(private readonly options: EngineBuilderOptions) {
    this.localBuildsDir = options.localBuildsDir ?? defaultLocalBuildsDir();
  }

  /** The running build, or the last one this builder ran. */
  get progress(): EngineBuildProgress | undefined {
    return this.running?.tracker.progress ?? this.last;
  }

  /** The GPU toolchains found (looked for once per builder). */
  toolchains(): Promise<EngineToolchain[]> {
    this.toolchainsDetected ??= detectGpuToolchains(this.options.toolchainProbes ?? systemToolchainProbes);
    return this.toolchainsDetected;
  }

  /** The local build on record, if any (a damaged record counts as none). */
  async recorded(): Promise<LocalBuildRecord | undefined> {
    return (await readLocalBuildRecord(this.options.engineDir)).record;
  }

  /** Why this installation cannot build, or undefined when it can. */
  async cannotBuildReason(): Promise<string | undefined> {
    if (!this.options.spawnWorker && !engineWorkerEntry()) return "the engine build worker is not part of this installation (the desktop app's bundle); use `marduk-local engine build`";
    const llamaDir = path.dirname(this.localBuildsDir);
    if (llamaDir.split(/[\\/]/).some((part) => part.endsWith(".asar"))) return "node-llama-cpp is packed in the app's archive, where nothing can be built";
    if (!(await access(llamaDir, constants.W_OK).then(() => true, () => false))) return `node-llama-cpp's folder ${llamaDir} is not writable`;
    if (this.options.spawnWorker) return undefined;
    const probes = this.options.toolchainProbes ?? systemToolchainProbes;
    // Without cmake node-llama-cpp would download one: not offline.
    if (!(await probes.findExecutable("cmake"))) return "cmake is not installed (node-llama-cpp would download it: install cmake to build offline)";
    if (probes.platform !== "win32") {
      const compilers = await Promise.all(["c++", "g++", "clang++"].map((name) => probes.findExecutable(name)));
      if (!compilers.some(Boolean)) return "no C++ compiler (c++, g++ or clang++) is installed";
    }
    return undefined;
  }

  onProgress(listener: (progress: EngineBuildProgress) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(progress: EngineBuildProgress, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastEmitAt < (this.options.progressIntervalMs ?? 250)) return;
    this.lastEmitAt = now;
    for (const listener of [...this.listeners]) listener(progress);
  }

  /** Takes the installation's build lock, or says who holds it. */
  private async lock(): Promise<() => Promise<void>> {
    const file = buildLockPath(this.localBuildsDir);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, "wx");
        await handle.writeFile(JSON.stringify({ pid: process.pid, startedAt: Date.now() }));
        await handle.close();
        return () => rm(file, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = Number((JSON.parse(await readFile(file, "utf8").catch(() => "{}")) as { pid?: unknown }).pid);
        if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
          throw new MardukError("unsupported", `another llama.cpp build is running (process ${holder}); wait for it or stop it`);
        }
        // Left by a process that died: take it over.
        await rm(file, { force: true });
      }
    }
    throw new MardukError("internal_error", `could not take the build lock ${file}`);
  }

  private async localBuildFolders(): Promise<Set<string>> {
    const names = await readdir(this.localBuildsDir).catch(() => [] as string[]);
    return new Set(names);
  }

  /**
   * Starts a build, or answers with the running one. `gpu` "auto" (the default) builds for the
   * first usable GPU toolchain, else the CPU.
   * @throws UnsupportedError when this installation cannot build; InvalidArgumentError for a GPU without its toolchain
   */
  async start(request: { gpu?: EngineGpu | "auto" } = {}): Promise<EngineBuildProgress> {
    if (this.running) return this.running.tracker.progress;
    // Calls that overlap while the first one checks the tools join it.
    this.starting ??= this.begin(request).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async begin(request: { gpu?: EngineGpu | "auto" }): Promise<EngineBuildProgress> {
    const cannotBuild = await this.cannotBuildReason();
    if (cannotBuild) throw new UnsupportedError(`Cannot build llama.cpp here: ${cannotBuild}`);
    const chosen = chooseBuildGpu(request.gpu ?? "auto", await this.toolchains());
    if ("error" in chosen) throw new InvalidArgumentError(chosen.error, "gpu");
    const unlock = await this.lock();
    const id = randomBytes(4).toString("hex");
    const tracker = new BuildProgressTracker(id, chosen.gpu);
    const cmakeOptions = buildCmakeOptions(id);
    const before = await this.localBuildFolders();
    const worker = (this.options.spawnWorker ?? forkEngineWorker)(
      { mode: "build", gpu: chosen.gpu, cmakeOptions, localBuildsDir: this.localBuildsDir },
      {
        onLine: (line) => {
          const phase = tracker.progress.phase;
          const step = tracker.progress.step;
          if (tracker.line(line)) this.emit(tracker.progress, tracker.progress.phase !== phase || tracker.progress.step !== step);
        },
        onVerifying: () => {
          tracker.verifying();
          this.emit(tracker.progress, true);
        },
      },
    );
    this.options.logger?.info({ buildId: id, gpu: chosen.gpu, cmakeOptions }, "llama.cpp build started");
    const done = (async (): Promise<EngineBuildProgress> => {
      try {
        const outcome = await worker.outcome;
        if (outcome.ok && outcome.folderName) {
          await this.record(outcome.folderName, chosen.gpu, cmakeOptions, outcome.systemInfo, outcome.llamaCppRelease);
          this.builtHere = true;
          tracker.end("done", "Built and verified. It takes effect when llama.cpp starts again.");
        } else {
          const crashedInCheck = !outcome.ok && !outcome.cancelled && tracker.progress.phase === "verifying";
          const error = outcome.ok
            ? "the build finished without saying which folder it made"
            : crashedInCheck
              ? `the new build does not run on this machine: running a test model through it failed (${outcome.error})`
              : outcome.error;
          const lastWords = outcome.ok ? [] : pickLastWords(outcome.lastLines);
          await this.removeLeftovers(before);
          if (!outcome.ok && outcome.cancelled) tracker.end("cancelled", "The build was cancelled; the build in use stays.");
          else tracker.end("failed", "The build failed; the build in use stays.", Date.now(), [error, ...lastWords].join(" / ").slice(0, 2000));
        }
      } catch (error) {
        tracker.end("failed", "The build failed; the build in use stays.", Date.now(), (error as Error).message);
      } finally {
        await unlock().catch(() => undefined);
        this.last = tracker.progress;
        this.running = undefined;
      }
      const progress = tracker.progress;
      this.options.logger?.[progress.phase === "done" ? "info" : "warn"]({ buildId: id, phase: progress.phase, error: progress.error }, `llama.cpp build ${progress.phase}`);
      this.emit(progress, true);
      return progress;
    })();
    this.running = { tracker, worker, done };
    this.emit(tracker.progress, true);
    return tracker.progress;
  }

  /** Records the verified build (the runtime's next start uses it) and drops the one it replaces. */
  private async record(folderName: string, gpu: EngineGpu, cmakeOptions: Record<string, string>, systemInfo: string, llamaCppRelease: string): Promise<void> {
    const binary = await stat(localBuildBinaryPath(this.localBuildsDir, folderName));
    const previous = await this.recorded();
    await writeLocalBuildRecord(this.options.engineDir, {
      version: LOCAL_BUILD_RECORD_VERSION,
      folderName,
      cmakeOptions,
      gpu,
      llamaCppRelease,
      nodeLlamaCppVersion: nodeLlamaCppVersion(),
      builtAt: Date.now(),
      verified: { cpu: this.options.cpu ?? cpuFingerprint(), binarySizeBytes: binary.size, binaryMtimeMs: Math.trunc(binary.mtimeMs), systemInfo: systemInfo.slice(0, 4000) },
    });
    // Processes that loaded the old build keep their mapped copy (on Windows the removal fails: left).
    if (previous && previous.folderName !== folderName) {
      await rm(path.join(this.localBuildsDir, previous.folderName), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Removes what a failed or cancelled build left: the folders that appeared while it ran (it
   * held the lock, so they are its own), finished ones too (a build that failed its check).
   */
  private async removeLeftovers(before: Set<string>): Promise<void> {
    for (const name of await this.localBuildFolders()) {
      if (!before.has(name)) await rm(path.join(this.localBuildsDir, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Stops the running build (the build in use stays); nothing when none runs. */
  cancel(): void {
    this.running?.worker.cancel();
  }

  /** Resolves when the running build ends (at once when none runs). */
  async whenIdle(): Promise<EngineBuildProgress | undefined> {
    return this.running ? this.running.done : this.last;
  }

  /** Cancels a running build and waits for it to stop; drops listeners. */
  async dispose(): Promise<void> {
    this.cancel();
    await this.running?.done;
    this.listeners.clear();
  }
}
