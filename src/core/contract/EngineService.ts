import { z } from "zod";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { EngineApi, EngineBuildInfo, EngineBuildProgress, EngineGpu, EngineStatus } from "../../shared/contract/engine.js";
import type { EngineBuilder } from "../engine-build/EngineBuilder.js";
import { readEngineStatus } from "../engine-build/engineStatus.js";
import { parseRequest } from "./requestSchemas.js";

const startBuildRequest = z.strictObject({ gpu: z.enum(["auto", "cuda", "vulkan", "metal", "cpu"]).optional() });

/** What the engine group needs of the core. */
export interface EngineServiceDeps {
  /** Runs builds (one at a time) in a child process. */
  builder: EngineBuilder;
  /** The build that runs (see Core.engineBuild). */
  current: () => Promise<EngineBuildInfo>;
}

/**
 * The engine group: build llama.cpp for this machine from the UI. The build runs in a child
 * process (the server stays responsive) and its progress comes as `onProgress` events; it
 * takes effect for llama.cpp runtimes started afterwards (new model host processes, or the
 * server after a restart). Over `/rpc` it needs an admin key, as every contract group does.
 */
export class EngineService implements EngineApi {
  constructor(private readonly deps: EngineServiceDeps) {}

  async status(): Promise<EngineStatus> {
    return readEngineStatus(this.deps.builder, await this.deps.current());
  }

  /**
   * Starts a build (or answers with the running one).
   * @throws InvalidArgumentError for an unknown backend, or one whose toolchain is missing; UnsupportedError when nothing can be built here
   */
  async startBuild(request: { gpu?: EngineGpu | "auto" }): Promise<EngineBuildProgress> {
    const { gpu } = parseRequest(startBuildRequest, request);
    return this.deps.builder.start({ gpu });
  }

  async cancelBuild(): Promise<void> {
    this.deps.builder.cancel();
  }

  onProgress = (listener: (progress: EngineBuildProgress) => void): Unsubscribe => this.deps.builder.onProgress(listener);

  /** Stops a running build (a server that stops does not leave compilers running). */
  dispose(): Promise<void> {
    return this.deps.builder.dispose();
  }
}
