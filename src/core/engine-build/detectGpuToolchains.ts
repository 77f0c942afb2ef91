import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import path from "node:path";
import type { EngineGpu, EngineToolchain } from "../../shared/contract/engine.js";

/** What the detection reads of the machine; injectable for tests. */
export interface ToolchainProbes {
  /** GPU types whose drivers and runtime libraries node-llama-cpp finds (`getLlamaGpuTypes("supported")`). */
  supportedGpus(): Promise<readonly Exclude<EngineGpu, "cpu">[]>;
  /** The first executable of that name in PATH or in the extra folders, else undefined. */
  findExecutable(name: string, extraDirs?: readonly string[]): Promise<string | undefined>;
  /** An executable's `--version` output (first 2 KB), or undefined when it fails. */
  versionOf(executable: string): Promise<string | undefined>;
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
}

/**
 * Looks for a program the way a shell would (PATH, then the given folders). Hand-written
 * rather than the `which` package: a dozen lines, and the app does not depend on `which`.
 */
async function findExecutable(name: string, extraDirs: readonly string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), ...extraDirs].filter(Boolean);
  const names = process.platform === "win32" ? [`${name}.exe`, `${name}.cmd`, `${name}.bat`] : [name];
  for (const dir of dirs) {
    for (const file of names) {
      const candidate = path.join(dir, file);
      if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
    }
  }
  return undefined;
}

function versionOf(executable: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(executable, ["--version"], { timeout: 10_000, maxBuffer: 64 * 1024 }, (error, stdout) => resolve(error ? undefined : stdout.slice(0, 2048)));
  });
}

export const systemToolchainProbes: ToolchainProbes = {
  async supportedGpus() {
    const { getLlamaGpuTypes } = await import("node-llama-cpp");
    return (await getLlamaGpuTypes("supported")).filter((gpu): gpu is Exclude<EngineGpu, "cpu"> => gpu !== false);
  },
  findExecutable,
  versionOf,
  platform: process.platform,
  env: process.env,
};

async function detectCuda(probes: ToolchainProbes, driver: boolean): Promise<EngineToolchain> {
  const cudaHome = probes.env.CUDA_PATH ?? probes.env.CUDA_HOME;
  const nvcc = await probes.findExecutable("nvcc", [...(cudaHome ? [path.join(cudaHome, "bin")] : []), "/usr/local/cuda/bin", "/opt/cuda/bin"]);
  if (!nvcc) return { gpu: "cuda", usable: false, detail: driver ? "NVIDIA driver found, but no CUDA toolkit (nvcc)" : "no CUDA toolkit (nvcc) and no NVIDIA driver" };
  const release = /release (\d+(?:\.\d+)?)/.exec((await probes.versionOf(nvcc)) ?? "")?.[1];
  const toolkit = `CUDA toolkit${release ? ` ${release}` : ""} found (${nvcc})`;
  return driver ? { gpu: "cuda", usable: true, detail: toolkit } : { gpu: "cuda", usable: false, detail: `${toolkit}, but no NVIDIA driver or GPU: a CUDA build would not run here` };
}

async function detectVulkan(probes: ToolchainProbes, driver: boolean): Promise<EngineToolchain> {
  // llama.cpp compiles its Vulkan shaders with glslc (from the Vulkan SDK or the shaderc package).
  const sdk = probes.env.VULKAN_SDK;
  const glslc = await probes.findExecutable("glslc", sdk ? [path.join(sdk, "bin")] : []);
  if (!glslc) return { gpu: "vulkan", usable: false, detail: driver ? "Vulkan driver found, but no Vulkan SDK (glslc)" : "no Vulkan SDK (glslc) and no Vulkan driver" };
  return driver
    ? { gpu: "vulkan", usable: true, detail: `Vulkan SDK found (${glslc})` }
    : { gpu: "vulkan", usable: false, detail: `Vulkan SDK found (${glslc}), but no Vulkan driver or GPU` };
}

/**
 * The GPU toolchains a build could use, each usable only when both the compiler side (CUDA's
 * nvcc, Vulkan's glslc) and the driver side (what node-llama-cpp finds at run time) are
 * there: a build for a GPU this machine lacks would only fall back to the CPU. Metal is
 * listed on macOS, where node-llama-cpp builds it with Xcode's tools.
 */
export async function detectGpuToolchains(probes: ToolchainProbes = systemToolchainProbes): Promise<EngineToolchain[]> {
  const supported: readonly string[] = await probes.supportedGpus().catch(() => []);
  const toolchains = await Promise.all([detectCuda(probes, supported.includes("cuda")), detectVulkan(probes, supported.includes("vulkan"))]);
  if (probes.platform === "darwin") {
    const metal = supported.includes("metal");
    toolchains.unshift({ gpu: "metal", usable: metal, detail: metal ? "Metal found" : "no Metal device" });
  }
  return toolchains;
}

/** The backend of a build: the one asked for, or with "auto" the first usable toolchain, else the CPU. */
export function chooseBuildGpu(requested: EngineGpu | "auto", toolchains: readonly EngineToolchain[]): { gpu: EngineGpu } | { error: string } {
  if (requested === "cpu") return { gpu: "cpu" };
  if (requested === "auto") return { gpu: toolchains.find((toolchain) => toolchain.usable)?.gpu ?? "cpu" };
  const toolchain = toolchains.find((candidate) => candidate.gpu === requested);
  if (!toolchain) return { error: `a ${requested} build is not possible on ${process.platform}` };
  return toolchain.usable ? { gpu: requested } : { error: `cannot build for ${requested}: ${toolchain.detail}` };
}
