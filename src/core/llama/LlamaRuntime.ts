import { LlamaLogLevel, type Llama, type LlamaGpuType } from "node-llama-cpp";
import type { EngineBuildInfo } from "../../shared/contract/engine.js";
import { ENGINE_DIR_ENV } from "../engine-build/engineBuildPaths.js";
import { loadEngineBuild } from "../engine-build/loadEngineBuild.js";
import type { Logger } from "../logger.js";
import type { Backend } from "./backend.js";
import { resolveThreadCount } from "./resolveThreadCount.js";


/** Options of {@link LlamaRuntime.create}. */
export interface LlamaRuntimeOptions {
  /** Compute backend. "auto" picks the best GPU found, else the CPU. Default: "auto". */
  backend?: Backend;
  /** CPU threads per evaluation, clamped to the machine's logical cores. Default: see {@link resolveThreadCount}. */
  threads?: number;
  /** Receives llama.cpp's warnings and errors, and which build runs. Default: dropped. */
  logger?: Logger;
  /**
   * The engine folder of the data dir (`<data dir>/engine`), where `marduk-local engine build`
   * records the local llama.cpp build to use. Default: env `MARDUK_ENGINE_DIR` (how model host
   * processes get it), else none: the prebuilt binary.
   */
  engineDir?: string;
}

/**
 * The one llama.cpp runtime of the process. It never builds or downloads anything at run time
 * (`build: "never"`), so the app works offline: it loads the local build recorded in the engine
 * folder when there is one that fits this machine and loads (compiled by `marduk-local engine
 * build`, see src/core/engine-build), else the prebuilt binaries that ship with node-llama-cpp,
 * saying why in the log. A local build that fails to load never fails the runtime.
 */
export class LlamaRuntime {
  private constructor(
    readonly llama: Llama,
    /** Threads each context evaluates with. */
    readonly threads: number,
    readonly requestedBackend: Backend,
    /** Which llama.cpp build runs: prebuilt or local, its backend, native/OpenMP, and why a local build is not used. */
    readonly build: EngineBuildInfo,
    private readonly logger?: Logger,
  ) {}

  static async create(options: LlamaRuntimeOptions = {}): Promise<LlamaRuntime> {
    const backend = options.backend ?? "auto";
    const threads = resolveThreadCount(options.threads);
    const logger = options.logger;
    const { llama, build } = await loadEngineBuild({
      engineDir: options.engineDir ?? (process.env[ENGINE_DIR_ENV] || undefined),
      backend,
      logger,
      llamaOptions: {
        maxThreads: resolveThreadCount(Number.MAX_SAFE_INTEGER),
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => {
          const text = message.trim();
          if (!logger || text === "") return;
          if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error({ llama: true }, text);
          else if (level === LlamaLogLevel.warn) logger.debug({ llama: true }, text);
        },
      },
    });
    return new LlamaRuntime(llama, threads, backend, build, logger);
  }

  /** The backend in use: a GPU type, or "cpu". */
  get backend(): Exclude<LlamaGpuType, false> | "cpu" {
    return this.llama.gpu === false ? "cpu" : this.llama.gpu;
  }

  /**
   * Releases llama.cpp. Bounded in time: node-llama-cpp 3.21.1 can leave `llama.dispose()`
   * pending forever after llama.cpp rejected a model file, and shutdown must still finish.
   */
  async dispose(timeoutMs = 3000): Promise<void> {
    if (this.llama.disposed) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([this.llama.dispose().then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") this.logger?.warn("llama.cpp did not finish releasing in time; continuing shutdown");
  }
}
