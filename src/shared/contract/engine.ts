import type { EventSource } from "./common.js";

/** GPU backends llama.cpp can be built with, or "cpu". */
export type EngineGpu = "cuda" | "vulkan" | "metal" | "cpu";

/** Which llama.cpp build runs (or will run in the next model host process). */
export interface EngineBuildInfo {
  /** "prebuilt": the binary that ships with node-llama-cpp; "local": compiled on this machine (`marduk-local engine build`). */
  kind: "prebuilt" | "local";
  /**
   * The compute backend of the build. "auto" only in a selection of the prebuilt binary with
   * the auto backend: node-llama-cpp picks the best GPU it finds when it starts, else the CPU.
   */
  gpu: EngineGpu | "auto";
  /** llama.cpp release of node-llama-cpp's bundled source, e.g. "v0.4.0". */
  llamaCppRelease: string;
  /** Tuned for this CPU (GGML_NATIVE=ON). node-llama-cpp's prebuilt CPU binaries are not. */
  native: boolean;
  /** CPU threads run on OpenMP (GGML_OPENMP=ON). node-llama-cpp's prebuilt CPU binaries do not. */
  openmp: boolean;
  /** Why the local build is not used although one was built (it is missing, fails to load, was built for another CPU...). */
  fallbackReason?: string;
  /**
   * "runtime": what the llama.cpp runtime of the server process loaded; "selection": what a
   * runtime started now would load (model host processes pick their build when they start).
   */
  source: "runtime" | "selection";
}

/** A GPU toolchain the build looked for, and whether it can be used. */
export interface EngineToolchain {
  gpu: Exclude<EngineGpu, "cpu">;
  usable: boolean;
  /** What was found or missing, e.g. "CUDA toolkit 13.0 found, but no NVIDIA driver". */
  detail: string;
}

/** Phases of a build, in order. */
export type EngineBuildPhase = "starting" | "cloning" | "configuring" | "compiling" | "verifying" | "done" | "failed" | "cancelled";

/** A build's progress, as its output tells it. */
export interface EngineBuildProgress {
  /** Identifies one build run. */
  id: string;
  phase: EngineBuildPhase;
  /** Compile steps done and in all (ninja's `[n/m]`), once compiling. */
  step?: number;
  steps?: number;
  /** 0..100, estimated over the whole build (cloning and configuring count for a little). */
  percent: number;
  /** The last line of output worth showing. */
  message: string;
  /** The backend being built. */
  gpu: EngineGpu;
  startedAt: number;
  /** Set once the build ended. */
  endedAt?: number;
  /** Why it failed (the build's last notable output). */
  error?: string;
}

/** The engine group's state: what runs, what was built, what a build would target. */
export interface EngineStatus {
  /** The build that runs (or that the next model host process picks). */
  current: EngineBuildInfo;
  /** The local build on record, if any: when it was built and for which backend. */
  localBuild?: { builtAt: number; gpu: EngineGpu; llamaCppRelease: string; native: boolean; openmp: boolean };
  /** The running build, or the last one since the server started. */
  build?: EngineBuildProgress;
  /** False when this installation cannot build (e.g. a packaged app whose node-llama-cpp is read-only), with the reason. */
  canBuild: boolean;
  cannotBuildReason?: string;
  /** The GPU toolchains looked for; a build uses the first usable one, else the CPU. */
  toolchains: EngineToolchain[];
  /** A finished build takes effect when llama.cpp starts again: new model host processes, or a restart of the server. */
  restartNeeded: boolean;
}

/**
 * The engine group: compile llama.cpp for this machine (native CPU flags, OpenMP, the GPU
 * toolchain found) from node-llama-cpp's bundled source, offline. Over the `/rpc` WebSocket it
 * needs an admin key, like every contract group.
 */
export interface EngineApi {
  status(): Promise<EngineStatus>;
  /** Starts a build (or answers with the running one). `gpu` "auto" (default) picks the first usable toolchain. */
  startBuild(request: { gpu?: EngineGpu | "auto" }): Promise<EngineBuildProgress>;
  /** Stops the running build; the build in use stays. Ignored when none runs. */
  cancelBuild(): Promise<void>;
  /** Every change of the running build (phase, steps, percent). */
  onProgress: EventSource<EngineBuildProgress>;
}
