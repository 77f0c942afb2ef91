/**
 * Entry of the engine build's child process (forked by {@link runEngineWorker}), so that a
 * build (minutes of compiler output) or a probe (loading a native binary that may crash) never
 * blocks nor kills the server. Two modes, given as JSON in argv[2]:
 * - "build": node-llama-cpp's own `source download` (its exported `DownloadLlamaCppCommand`):
 *   clones llama.cpp from the git bundle node-llama-cpp ships (no network: the bundle matches
 *   the release), applies node-llama-cpp's patches, and compiles its addon with cmake-js, with
 *   the cmake options passed as `NODE_LLAMA_CPP_CMAKE_OPTION_*`; then loads the result, as a probe;
 * - "probe": loads a local build (`getLlama` with its cmake options, no prebuilt fallback).
 * Compiler output goes to stdout/stderr (the parent reads ninja's `[n/m]` lines); the outcome
 * comes back over the IPC channel as one {@link WorkerMessage}. Both modes end with a real
 * evaluation of a tiny generated model (see probeModel): a build that only loads is not yet
 * known to run.
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import type { EngineGpu } from "../../shared/contract/engine.js";
import { localBuildDoneMarker } from "./engineBuildPaths.js";
import { describeLlamaLoadError } from "./llamaLoadError.js";
import { PROBE_MODEL_VOCAB_SIZE, writeProbeModel } from "./probeModel.js";

/** What the parent asks of the worker. */
export interface WorkerRequest {
  mode: "build" | "probe";
  gpu: EngineGpu;
  cmakeOptions: Record<string, string>;
  /** node-llama-cpp's local builds folder (to tell which folder the build made). */
  localBuildsDir: string;
}

/** What the worker answers, once, over IPC (a phase message may come before). */
export type WorkerMessage =
  | { type: "phase"; phase: "verifying" }
  | { type: "result"; ok: true; folderName?: string; buildType: string; systemInfo: string; llamaCppRelease: string }
  | { type: "result"; ok: false; error: string };

/** The variables node-llama-cpp reads that would change what is built or fetch from the network. */
const FOREIGN_ENV = /^(NODE_LLAMA_CPP_CMAKE_OPTION_|NODE_LLAMA_CPP_REPO|GGML_|CI$)/;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

async function finishedFolders(localBuildsDir: string): Promise<Set<string>> {
  const names = await readdir(localBuildsDir).catch(() => [] as string[]);
  const done = await Promise.all(names.map(async (name) => ((await stat(localBuildDoneMarker(localBuildsDir, name)).catch(() => undefined)) ? name : undefined)));
  return new Set(done.filter((name): name is string => name !== undefined));
}

/**
 * Loads the build and runs the probe model through it: a 40-token prompt (matrix-matrix
 * kernels) and a few decode steps (matrix-vector kernels), on two threads where there are two
 * cores. A build that crashes here kills only this process.
 */
async function probe(request: WorkerRequest): Promise<WorkerMessage> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({
    gpu: request.gpu === "cpu" ? false : request.gpu,
    cmakeOptions: request.cmakeOptions,
    build: "never",
    usePrebuiltBinaries: false,
    skipDownload: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  });
  const folder = await mkdtemp(path.join(os.tmpdir(), "marduk-engine-probe-"));
  try {
    const modelPath = path.join(folder, "probe.gguf");
    await writeProbeModel(modelPath);
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 256, sequences: 1, threads: Math.min(2, os.availableParallelism()) });
    const prompt = Array.from({ length: 40 }, (_, index) => (3 + ((index * 37) % (PROBE_MODEL_VOCAB_SIZE - 3))) as Token);
    let generated = 0;
    for await (const _token of context.getSequence().evaluate(prompt, { temperature: 0 })) if (++generated >= 4) break;
    await context.dispose();
    await model.dispose();
    return { type: "result", ok: true, buildType: llama.buildType, systemInfo: llama.systemInfo, llamaCppRelease: llama.llamaCppRelease.release };
  } finally {
    await llama.dispose();
    await rm(folder, { recursive: true, force: true });
  }
}

async function build(request: WorkerRequest): Promise<WorkerMessage> {
  for (const [key, value] of Object.entries(request.cmakeOptions)) process.env[`NODE_LLAMA_CPP_CMAKE_OPTION_${key}`] = value;
  const before = await finishedFolders(request.localBuildsDir);
  const { DownloadLlamaCppCommand } = await import("node-llama-cpp/commands");
  await DownloadLlamaCppCommand({ gpu: request.gpu === "cpu" ? false : request.gpu, noUsageExample: true });
  const made = [...(await finishedFolders(request.localBuildsDir))].filter((name) => !before.has(name));
  if (made.length !== 1) return { type: "result", ok: false, error: `expected one new build in ${request.localBuildsDir}, found ${made.length}` };
  await send({ type: "phase", phase: "verifying" });
  const probed = await probe(request);
  return probed.type === "result" && probed.ok ? { ...probed, folderName: path.basename(made[0]!) } : probed;
}

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2] ?? "{}") as WorkerRequest;
  let outcome: WorkerMessage;
  try {
    outcome = request.mode === "build" ? await build(request) : await probe(request);
  } catch (error) {
    outcome = { type: "result", ok: false, error: describeLlamaLoadError(error) };
  }
  await send(outcome);
  process.exit(outcome.type === "result" && outcome.ok ? 0 : 1);
}

if (!process.send) {
  process.stderr.write("The engine build worker is started by marduk-local (child_process.fork), not by hand.\n");
  process.exit(2);
}
// Before node-llama-cpp is imported: its config reads these once.
for (const key of Object.keys(process.env)) if (FOREIGN_ENV.test(key)) delete process.env[key];
void main();
