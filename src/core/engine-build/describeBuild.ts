import type { EngineBuildInfo } from "../../shared/contract/engine.js";

/** "local build, CPU, native CPU code, OpenMP, llama.cpp v0.4.0": one line for logs and the CLI. */
export function describeBuild(build: EngineBuildInfo): string {
  const gpu = build.gpu === "auto" ? "best GPU found, else CPU" : build.gpu === "cpu" ? "CPU" : build.gpu.toUpperCase();
  return [
    build.kind === "local" ? "local build" : "prebuilt binary",
    gpu,
    build.native ? "native CPU code" : "generic CPU code",
    build.openmp ? "OpenMP" : "no OpenMP",
    `llama.cpp ${build.llamaCppRelease}`,
  ].join(", ");
}
