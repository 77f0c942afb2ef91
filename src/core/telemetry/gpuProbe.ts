import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import type { GpuSample } from "../../shared/contract/metrics.js";

/** Reads the GPU's state, or null when the app runs without a GPU. Never rejects. */
export type GpuProbe = () => Promise<GpuSample | null>;

/** Options of {@link createGpuProbe}. */
export interface GpuProbeOptions {
  /**
   * The llama.cpp runtime, when it exists; the probe never creates it (that costs seconds and
   * memory). Default: none, so the probe reports no GPU.
   */
  llama?: () => Llama | undefined;
  /**
   * Path of `nvidia-smi` for the utilization, `false` to never run it. Default: found on PATH
   * (once); when absent, samples simply have no utilization.
   */
  nvidiaSmi?: string | false;
  /** Longest an nvidia-smi run may take. Default: 2000 ms. */
  nvidiaSmiTimeoutMs?: number;
}

/** The first executable called `name` on PATH, else undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  const names = platform === "win32" ? [`${name}.exe`, name] : [name];
  for (const dir of (env.PATH ?? env.Path ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    for (const candidate of names) {
      const file = path.join(dir, candidate);
      try {
        accessSync(file, platform === "win32" ? constants.F_OK : constants.X_OK);
        return file;
      } catch {
        // Not here.
      }
    }
  }
  return undefined;
}

/** nvidia-smi's GPU utilization in percent (first GPU), or undefined. Never rejects. */
export function readNvidiaUtilization(binary: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(
      binary,
      ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
      { timeout: timeoutMs, windowsHide: true, encoding: "utf8" },
      (error, stdout) => {
        if (error) return resolve(undefined);
        const value = Number(stdout.split(/\r?\n/)[0]?.trim());
        resolve(Number.isFinite(value) && value >= 0 && value <= 100 ? value : undefined);
      },
    );
  });
}

/**
 * The GPU part of the dashboard: VRAM from node-llama-cpp (`llama.getVramState()`) when the
 * runtime exists and runs on a GPU, utilization from `nvidia-smi` when that binary exists.
 * A CPU-only runtime, or none yet, gives null.
 */
export function createGpuProbe(options: GpuProbeOptions = {}): GpuProbe {
  const timeoutMs = options.nvidiaSmiTimeoutMs ?? 2000;
  let nvidiaSmi: string | false | undefined = options.nvidiaSmi;
  let deviceName: Promise<string> | undefined;
  let utilizationRun: Promise<number | undefined> | undefined;

  const utilization = (): Promise<number | undefined> => {
    nvidiaSmi ??= findOnPath("nvidia-smi") ?? false;
    if (nvidiaSmi === false) return Promise.resolve(undefined);
    // One run at a time: a slow nvidia-smi is not started again every second.
    utilizationRun ??= readNvidiaUtilization(nvidiaSmi, timeoutMs).finally(() => (utilizationRun = undefined));
    return utilizationRun;
  };

  return async () => {
    try {
      const llama = options.llama?.();
      if (!llama || llama.gpu === false || llama.disposed) return null;
      const gpuType = llama.gpu;
      deviceName ??= llama.getGpuDeviceNames().then(
        (names) => names[0] ?? gpuType,
        () => gpuType,
      );
      const [vram, name, utilizationPercent] = await Promise.all([llama.getVramState(), deviceName, utilization()]);
      return {
        name,
        ...(utilizationPercent !== undefined ? { utilizationPercent } : {}),
        vramUsedBytes: vram.used,
        vramTotalBytes: vram.total,
      };
    } catch {
      return null;
    }
  };
}
