import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * Identifies this machine's CPU as far as a native build cares: model and instruction set
 * extensions. A build compiled with GGML_NATIVE (-march=native) may use instructions another
 * CPU lacks and die of SIGILL there, so a local build whose fingerprint differs is tried in a
 * child process before this process loads it. Linux reads /proc/cpuinfo's flags; elsewhere
 * the model name and architecture are what is known.
 */
export function cpuFingerprint(cpuinfo: string | undefined = readCpuinfo()): string {
  const model = os.cpus()[0]?.model.trim() ?? "unknown";
  const flags = cpuinfo ? (/^(?:flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "").trim().split(/\s+/).sort().join(" ") : "";
  const hash = createHash("sha256").update(`${process.platform}|${process.arch}|${model}|${flags}`).digest("hex").slice(0, 16);
  return `${process.arch}:${hash}`;
}

function readCpuinfo(): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return undefined;
  }
}
