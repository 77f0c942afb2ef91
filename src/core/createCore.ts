import { mkdirSync } from "node:fs";
import path from "node:path";
import { defaultModelsDir } from "./appPaths.js";
import { Engine, type ModelLoadOptions } from "./engine/Engine.js";
import type { Backend } from "./llama/backend.js";
import type { LlamaRuntime } from "./llama/LlamaRuntime.js";
import { createLogger, type Logger } from "./logger.js";

/** Options of {@link createCore}. */
export interface CoreOptions {
  /** Folder of GGUF models. Default: env `MARDUK_MODELS_DIR`, else the OS data folder's `models`. */
  modelsDir?: string;
  /** Compute backend. Default: "auto". */
  backend?: Backend;
  /** CPU threads per evaluation. Default: about one per physical core (see resolveThreadCount). */
  threads?: number;
  /** Defaults of every model load. */
  loadDefaults?: ModelLoadOptions;
  /** Default: a pino logger on standard error. */
  logger?: Logger;
}

/** Everything the app does, for the HTTP API, the CLI and the Electron main process. */
export interface Core {
  readonly modelsDir: string;
  readonly logger: Logger;
  readonly engine: Engine;
  /** The llama.cpp runtime, created on first use (importing node-llama-cpp takes ~0.5 s). */
  runtime(): Promise<LlamaRuntime>;
  /** True once the runtime exists (for health reports that must not create it). */
  readonly runtimeReady: boolean;
  /** Unloads every model and releases llama.cpp. */
  dispose(): Promise<void>;
}

/** The composition root: builds the core services and wires them together. */
export function createCore(options: CoreOptions = {}): Core {
  const modelsDir = path.resolve(options.modelsDir ?? defaultModelsDir());
  mkdirSync(modelsDir, { recursive: true });
  const logger = options.logger ?? createLogger();
  let runtimePromise: Promise<LlamaRuntime> | undefined;
  let runtimeReady = false;
  const runtime = (): Promise<LlamaRuntime> => {
    runtimePromise ??= import("./llama/LlamaRuntime.js")
      .then(({ LlamaRuntime }) => LlamaRuntime.create({ backend: options.backend, threads: options.threads, logger }))
      .then((created) => {
        runtimeReady = true;
        logger.info({ backend: created.backend, threads: created.threads }, "llama.cpp runtime ready");
        return created;
      });
    return runtimePromise;
  };
  const engine = new Engine({ runtime, modelsDir, logger, loadDefaults: options.loadDefaults });
  return {
    modelsDir,
    logger,
    engine,
    runtime,
    get runtimeReady() {
      return runtimeReady;
    },
    async dispose() {
      await engine.dispose();
      if (runtimePromise) await (await runtimePromise.catch(() => undefined))?.dispose();
    },
  };
}
