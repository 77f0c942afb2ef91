import { getLlama, LlamaLogLevel, type Llama, type LlamaGpuType } from "node-llama-cpp";
import type { Logger } from "../logger.js";
import type { Backend } from "./backend.js";
import { resolveThreadCount } from "./resolveThreadCount.js";


/** Options of {@link LlamaRuntime.create}. */
export interface LlamaRuntimeOptions {
  /** Compute backend. "auto" picks the best GPU found, else the CPU. Default: "auto". */
  backend?: Backend;
  /** CPU threads per evaluation, clamped to the machine's logical cores. Default: see {@link resolveThreadCount}. */
  threads?: number;
  /** Receives llama.cpp's warnings and errors. Default: dropped. */
  logger?: Logger;
}

/**
 * The one llama.cpp runtime of the process. It never builds or downloads anything at run time
 * (`build: "never"`): the prebuilt binaries that ship with node-llama-cpp are used, so the app
 * works offline.
 */
export class LlamaRuntime {
  private constructor(
    readonly llama: Llama,
    /** Threads each context evaluates with. */
    readonly threads: number,
    readonly requestedBackend: Backend,
    private readonly logger?: Logger,
  ) {}

  static async create(options: LlamaRuntimeOptions = {}): Promise<LlamaRuntime> {
    const backend = options.backend ?? "auto";
    const threads = resolveThreadCount(options.threads);
    const logger = options.logger;
    const llama = await getLlama({
      gpu: backend === "cpu" ? false : backend,
      build: "never",
      skipDownload: true,
      progressLogs: false,
      maxThreads: resolveThreadCount(Number.MAX_SAFE_INTEGER),
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!logger || text === "") return;
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error({ llama: true }, text);
        else if (level === LlamaLogLevel.warn) logger.debug({ llama: true }, text);
      },
    });
    return new LlamaRuntime(llama, threads, backend, logger);
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
