import type { MemoryEstimate } from "../../shared/api/library.js";
import { mergeLoadOptions, type Engine, type ModelLoadOptions } from "../engine/Engine.js";
import { assertLoadOptions } from "../engine/llamaLoadOptions.js";
import type { LocalModel } from "../engine/LocalModel.js";
import type { ResidencyLoader } from "../engine/ModelResidency.js";
import { fromErrorPayload, MardukError, ModelCrashedError, ModelLoadFailedError, toMardukError } from "../errors.js";
import type { Backend } from "../llama/backend.js";
import type { Logger } from "../logger.js";
import { RpcError } from "../../shared/rpc/rpcErrors.js";
import { CrashBackoff, type CrashBackoffOptions } from "./CrashBackoff.js";
import { describeHostExit } from "./hostLastWords.js";
import type { HostLoadRequest } from "./modelHostApi.js";
import { HostedModel } from "./HostedModel.js";
import { ModelHostProcess, type ModelHostWatchdogOptions, type SpawnModelHost } from "./ModelHostProcess.js";

/** Settings of model host processes (`CoreOptions.modelHostOptions`). */
export interface ModelHostOptions {
  /** Starts a host process. Default: `child_process.fork` of the host entry (see {@link forkModelHost}). */
  spawnHost?: SpawnModelHost;
  /** Extra environment variables of every host (tests use it for test-only faults). Default: none. */
  env?: Record<string, string>;
  /** Default: a ping every 2 s, killed after 10 s without an answer. */
  watchdog?: ModelHostWatchdogOptions;
  /** Default: reload at once after one crash, then wait 1 s, 2 s, ... up to 60 s. */
  crashBackoff?: CrashBackoffOptions;
}

/** Options of {@link ModelHostLoader}. */
export interface ModelHostLoaderOptions extends ModelHostOptions {
  /** Resolves ids and files and estimates memory (it reads headers only; models load in the hosts). */
  engine: Engine;
  /** Defaults of every load, overridden per load. Default: none. */
  loadDefaults?: ModelLoadOptions;
  /** Compute backend of the hosts. Default: "auto". */
  backend?: Backend;
  /** CPU threads per evaluation (already resolved). */
  threads: number;
  logger: Logger;
  /** Called after each successful load (metrics). */
  onModelLoaded?: (model: LocalModel) => void;
}

/** How long a host started for an estimate waits for the load that should follow. */
const PREPARED_HOST_TTL_MS = 30_000;

interface PreparedHost {
  host: ModelHostProcess;
  /** The load options it was estimated with (a load with others starts afresh). */
  optionsKey: string;
  timer: NodeJS.Timeout;
}

/**
 * Loads each model in a model host process of its own ({@link HostedModel}): the residency's
 * loader when `CoreOptions.modelHost` is "process". The memory estimate runs in the host too
 * (node-llama-cpp simulates the load in llama.cpp, which asserts on crafted files as a real
 * load does), and the load that follows reuses that host. A host that dies while estimating or
 * loading fails the load with `model_load_failed` and its last words; one that dies while
 * serving fails its requests with `model_crashed`. Either way the server goes on, and a model
 * that keeps crashing is held back by a {@link CrashBackoff}.
 */
export class ModelHostLoader implements ResidencyLoader<LocalModel> {
  private readonly backoff: CrashBackoff;
  /** Hosts still estimating or loading, so shutdown can end them. */
  private readonly starting = new Set<ModelHostProcess>();
  /** Hosts that estimated a model, waiting for its load, by model id. */
  private readonly prepared = new Map<string, PreparedHost>();
  private disposed = false;

  constructor(private readonly options: ModelHostLoaderOptions) {
    this.backoff = new CrashBackoff(options.crashBackoff);
  }

  resolveModel(ref: string): { id: string } {
    return this.options.engine.resolveModel(ref);
  }

  resolveFile(filePath: string): { id: string } {
    return this.options.engine.resolveFile(filePath);
  }

  /**
   * Starts a host and estimates the model's memory in it; the host waits for the load.
   * @throws as {@link loadModel}
   */
  async estimateMemory(ref: string, options: ModelLoadOptions = {}): Promise<MemoryEstimate> {
    const { id } = this.resolve(ref);
    this.assertNotHeldBack(id);
    // Options that cannot work are refused before a host is started for them.
    assertLoadOptions(this.withLoadDefaults(options));
    this.abandonLoad(ref);
    const host = this.startHost(id);
    const estimate = await this.ask(id, host, "estimating its memory", (request) => host.api.host.estimate(request), ref, options);
    if (this.disposed) {
      await host.stop();
      throw new MardukError("internal_error", "The server is shutting down");
    }
    const timer = setTimeout(() => this.abandonLoad(ref), PREPARED_HOST_TTL_MS);
    timer.unref();
    this.prepared.set(id, { host, optionsKey: JSON.stringify(options), timer });
    return estimate;
  }

  abandonLoad(ref: string): void {
    const id = this.resolve(ref).id;
    const prepared = this.prepared.get(id);
    if (!prepared) return;
    this.prepared.delete(id);
    clearTimeout(prepared.timer);
    void prepared.host.stop();
  }

  /**
   * Loads the model in the host that estimated it (or a new one).
   * @throws ModelNotFoundError, InvalidArgumentError; ModelLoadFailedError (also when the host
   *   crashed while loading); ModelCrashedError while the model is held back after crashes
   */
  async loadModel(ref: string, options: ModelLoadOptions = {}): Promise<LocalModel> {
    const { id, path: modelPath } = this.resolve(ref);
    this.assertNotHeldBack(id);
    assertLoadOptions(this.withLoadDefaults(options));
    const prepared = this.prepared.get(id);
    let host: ModelHostProcess;
    if (prepared && prepared.optionsKey === JSON.stringify(options) && prepared.host.alive) {
      this.prepared.delete(id);
      clearTimeout(prepared.timer);
      host = prepared.host;
    } else {
      this.abandonLoad(ref);
      host = this.startHost(id);
    }
    const info = await this.ask(id, host, "loading it", (request) => host.api.host.load(request), ref, options);
    host.markServing();
    // What the load cost includes starting the host.
    const model = new HostedModel(host, id, { ...info, path: modelPath, stats: { ...info.stats, loadMs: performance.now() - host.startedAt } });
    model.onCrashed((crash) => this.backoff.recordCrash(id, "run", crash.message));
    if (this.disposed) {
      await model.dispose();
      throw new MardukError("internal_error", "The server is shutting down");
    }
    this.options.onModelLoaded?.(model);
    this.options.logger.info({ model: id, pid: host.pid, loadMs: Math.round(model.stats.loadMs) }, "model loaded in a host process");
    return model;
  }

  async unloadModel(model: LocalModel): Promise<void> {
    await model.dispose();
    this.options.logger.info({ model: model.id }, "model unloaded");
  }

  /** Crashes in a row of a model (0 when it has none to remember). */
  crashesOf(modelId: string): number {
    return this.backoff.crashesOf(modelId);
  }

  /** Refuses new loads and ends the hosts still estimating, loading or waiting for a load (their loads fail). */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const prepared of this.prepared.values()) clearTimeout(prepared.timer);
    const hosts = [...this.starting, ...[...this.prepared.values()].map((prepared) => prepared.host)];
    this.prepared.clear();
    await Promise.allSettled(hosts.map((host) => host.stop()));
  }

  /** The server's load defaults, overridden by what `options` sets. */
  private withLoadDefaults(options: ModelLoadOptions): ModelLoadOptions {
    return mergeLoadOptions(this.options.loadDefaults, options);
  }

  private resolve(ref: string): { id: string; path: string } {
    return this.options.engine.resolveRef(ref);
  }

  private startHost(id: string): ModelHostProcess {
    if (this.disposed) throw new MardukError("internal_error", "The server is shutting down");
    return ModelHostProcess.start({
      logger: this.options.logger.child({ model: id }),
      ...(this.options.spawnHost ? { spawnHost: this.options.spawnHost } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
      ...(this.options.watchdog ? { watchdog: this.options.watchdog } : {}),
    });
  }

  /**
   * Makes one call of a host that is estimating or loading a model. When the host dies meanwhile,
   * the crash counts against the model and the call fails with model_load_failed and the host's
   * last words; when the call fails otherwise, the host is stopped and the error is the host's.
   */
  private async ask<T>(
    id: string,
    host: ModelHostProcess,
    doing: string,
    call: (request: HostLoadRequest) => Promise<T>,
    ref: string,
    options: ModelLoadOptions,
  ): Promise<T> {
    this.starting.add(host);
    try {
      return await call({
        ref,
        modelsDir: this.options.engine.modelsDir,
        options: this.withLoadDefaults(options),
        backend: this.options.backend ?? "auto",
        threads: this.options.threads,
      });
    } catch (error) {
      if (host.alive) {
        await host.stop();
        throw error instanceof RpcError ? fromErrorPayload(error.toPayload()) : toMardukError(error);
      }
      const exit = await host.exited;
      if (this.disposed || exit.expected) throw new MardukError("internal_error", "The server is shutting down");
      const reason = describeHostExit(exit);
      this.backoff.recordCrash(id, "load", reason);
      throw new ModelLoadFailedError(id, `its model host crashed while ${doing}: ${reason}`, error);
    } finally {
      this.starting.delete(host);
    }
  }

  private assertNotHeldBack(id: string): void {
    const hold = this.backoff.hold(id);
    if (!hold) return;
    const seconds = Math.max(1, Math.ceil(hold.retryInMs / 1000));
    const wait = `crashed ${hold.crashes} times; retry in ${seconds} s`;
    if (hold.phase === "load") throw new ModelLoadFailedError(id, `its model host ${wait} (last: ${hold.reason})`);
    throw new ModelCrashedError(id, `The model '${id}' ${wait} (last: ${hold.reason.replace(/^The model '[^']*' crashed: /, "")})`, seconds);
  }
}
