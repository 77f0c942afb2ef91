import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import type { FitEstimate, GgufSummary, HubQuantGroup } from "../../shared/api/hub.js";
import { defaultDataDir, defaultModelsDir } from "../../core/appPaths.js";
import { describeBuild } from "../../core/engine-build/describeBuild.js";
import { engineDirOf } from "../../core/engine-build/engineBuildPaths.js";
import type { EngineBuildInfo } from "../../shared/contract/engine.js";
import { InvalidArgumentError } from "../../core/errors.js";
import { BACKENDS, type Backend } from "../../core/llama/backend.js";
import type { LlamaRuntime } from "../../core/llama/LlamaRuntime.js";
import { formatBytes } from "../../core/models/downloads/formatBytes.js";
import { estimateFit } from "../../core/models/hub/fitEstimate.js";
import { summarizeGgufInfo } from "../../core/models/hub/ggufSummary.js";
import { HubClient } from "../../core/models/hub/HubClient.js";
import { probeMachineResources } from "../../core/models/hub/machineResources.js";
import { pickQuantization } from "../../core/models/hub/pickQuantization.js";
import { parseSplitPart } from "../../core/models/hub/quantization.js";
import { parseModelRef, type HfModelRef } from "../../core/models/modelRef.js";
import { resolveModelIdPath } from "../../core/models/modelPaths.js";
import { findStarterModel, STARTER_MODELS } from "../../core/models/starterModels.js";
import { CliUsageError } from "../cliError.js";
import { parseCommandArgs, parseIntegerFlag } from "../parseCommandArgs.js";
import { checkGgufHeader } from "../../core/models/library/checkGgufHeader.js";
import { describeGgufReadFailure } from "../../core/models/library/describeGgufReadFailure.js";
import { DEFAULT_PARALLEL } from "../../core/engine/Engine.js";
import type { RuntimeLoadOptions } from "../../shared/api/loadOptions.js";
import { LOAD_OPTION_FLAGS, LOAD_OPTION_HELP, parseLoadOptionFlags } from "../loadOptionFlags.js";

export const INSPECT_HELP = `Usage: marduk-local inspect <id|file|hf ref> [options]

Shows a model's metadata (architecture, parameters, quantization, context length, chat
template) and whether it fits this machine. For a hub model only the file's header is read
(a few MB), so you can check before downloading.
  <id>                       a model in the models folder, e.g. owner/repo/name-Q4_K_M
  <file>                     a path to a .gguf file
  hf:owner/repo/file.gguf    a file on the Hugging Face hub
  hf:owner/repo:Q4_K_M       the file of that quantization
  hf:owner/repo | <starter>  the repository's files by quantization, and the best fit
Append @<revision> to an hf ref for a branch, tag or commit.

Options:
  --models-dir <dir>   Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                       else ${defaultModelsDir({}, process.platform)})
  --ctx-size <n>       Context size of the estimate (default: the model's, at most 4096)
  --parallel <n>       Sequences of that size, as serve loads it (default 4)
  --gpu <backend>      auto | cuda | vulkan | metal | cpu: where VRAM is measured (default auto)
  --json               Machine-readable output
  -h, --help           Show this help

Load options, as serve takes them (a local file's estimate counts them; --mlock changes nothing):
${LOAD_OPTION_HELP}
Environment: HF_ENDPOINT (hub URL, default https://huggingface.co), HF_TOKEN (access token).
`;

interface InspectOptions {
  target: string;
  modelsDir: string;
  contextSize?: number;
  sequences: number;
  backend: Backend;
  json: boolean;
  /** The runtime load options the estimate counts (flash attention, KV cache types, batch size, mmap). */
  loadOptions: RuntimeLoadOptions;
}


function parseInspectOptions(args: string[], env: NodeJS.ProcessEnv): InspectOptions | "help" {
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      "models-dir": { type: "string" },
      "ctx-size": { type: "string" },
      parallel: { type: "string" },
      gpu: { type: "string" },
      json: { type: "boolean" },
      ...LOAD_OPTION_FLAGS,
      help: { type: "boolean", short: "h" },
    },
  });
  const values = parsed.values;
  if (values.help) return "help";
  if (parsed.positionals.length !== 1) throw new CliUsageError("expected one model: an id, a .gguf file or an hf ref (see --help)");
  const backend = (values.gpu ?? "auto") as Backend;
  if (!BACKENDS.includes(backend)) throw new CliUsageError(`--gpu must be one of ${BACKENDS.join(", ")}, got '${values.gpu}'`);
  return {
    target: parsed.positionals[0]!,
    modelsDir: path.resolve(values["models-dir"] ?? defaultModelsDir(env)),
    contextSize: parseIntegerFlag("ctx-size", values["ctx-size"], 16, 1 << 20),
    sequences: parseIntegerFlag("parallel", values.parallel, 1, 64) ?? DEFAULT_PARALLEL,
    backend,
    json: values.json ?? false,
    loadOptions: parseLoadOptionFlags(values),
  };
}

/** What `inspect --json` prints. */
export interface InspectReport {
  source:
    | { kind: "file"; path: string; id?: string; sizeBytes: number; parts: number }
    | { kind: "hf"; repo: string; revision: string; file: string; url: string; sizeBytes?: number };
  summary: GgufSummary;
  fit: FitEstimate;
  /** Which llama.cpp build runs here (prebuilt or local, GPU, native/OpenMP, release). */
  engine?: EngineBuildInfo;
  /** For a bare repository: its files by quantization, and the one picked for this machine. */
  repository?: { repo: string; commit?: string; groups: HubQuantGroup[]; picked?: string };
}

/** A local target: an existing .gguf path, else a model id in the models dir. */
function resolveLocal(target: string, modelsDir: string): { path: string; id?: string } | undefined {
  const looksLikePath = target.toLowerCase().endsWith(".gguf") || target.startsWith(".") || path.isAbsolute(target);
  if (looksLikePath && existsSync(target) && statSync(target).isFile()) return { path: path.resolve(target) };
  try {
    return { path: resolveModelIdPath(modelsDir, target), id: target.replace(/\.gguf$/i, "") };
  } catch {
    return undefined;
  }
}

/** The files of a local model: the file, or every part of a split model that exists. */
function localParts(filePath: string): string[] {
  const split = parseSplitPart(filePath);
  if (!split) return [filePath];
  const stem = path.basename(split.basePath, ".gguf");
  const dir = path.dirname(filePath);
  const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-\\d{5}-of-${String(split.parts).padStart(5, "0")}\\.gguf$`, "i");
  return readdirSync(dir).filter((name) => pattern.test(name)).sort().map((name) => path.join(dir, name));
}

function formatCount(count: number | undefined): string {
  if (count === undefined) return "?";
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${(count / 1e6).toFixed(1)}M`;
  if (count >= 1e3) return `${(count / 1e3).toFixed(1)}K`;
  return String(count);
}

function printListing(repository: NonNullable<InspectReport["repository"]>): void {
  process.stdout.write(`${repository.repo}${repository.commit ? ` @ ${repository.commit.slice(0, 12)}` : ""}\n`);
  for (const group of repository.groups) {
    for (const file of group.files) {
      const mark = file.path === repository.picked ? "  <- best fit here" : "";
      const parts = file.parts.length > 1 ? ` (${file.parts.length} parts)` : "";
      process.stdout.write(`  ${group.quant.padEnd(8)} ${formatBytes(file.sizeBytes).padStart(9)}  ${file.path}${parts}${mark}\n`);
    }
  }
  process.stdout.write("\n");
}

function printReport(report: InspectReport): void {
  const { summary, fit, source } = report;
  const rows: Array<[string, string]> = [];
  if (report.repository) printListing(report.repository);
  if (source.kind === "file") {
    rows.push(["Model", source.id ?? source.path]);
    if (source.id) rows.push(["File", source.path]);
    rows.push(["Size", `${formatBytes(source.sizeBytes)}${source.parts > 1 ? ` in ${source.parts} parts` : ""}`]);
  } else {
    rows.push(["Model", `hf:${source.repo}/${source.file}`]);
    rows.push(["Revision", source.revision]);
    if (source.sizeBytes !== undefined) rows.push(["Size", formatBytes(source.sizeBytes)]);
  }
  if (summary.name) rows.push(["Name", summary.name]);
  rows.push(["Architecture", summary.architecture ?? "?"]);
  rows.push(["Parameters", formatCount(summary.parameterCount)]);
  rows.push(["Quantization", summary.quantization ?? "?"]);
  rows.push(["Context length", summary.contextLength === undefined ? "?" : `${summary.contextLength} tokens`]);
  rows.push(["Chat template", summary.hasChatTemplate ? "yes" : "no"]);
  rows.push(["Layers", String(summary.layers)]);
  rows.push(["Fit", `${fit.verdict} (${fit.needs.contextSize} tokens of context${fit.needs.sequences > 1 ? ` x ${fit.needs.sequences}` : ""})`]);
  rows.push(["", fit.reason]);
  rows.push(["CPU only", `${formatBytes(fit.needs.cpuOnly.ramBytes + fit.needs.cpuOnly.vramBytes)} RAM`]);
  rows.push(["All on GPU", `${formatBytes(fit.needs.fullGpu.vramBytes)} VRAM + ${formatBytes(fit.needs.fullGpu.ramBytes)} RAM`]);
  const machine = fit.machine;
  rows.push([
    "This machine",
    `${formatBytes(machine.ramFreeBytes)} RAM free` + (machine.gpu === false ? ", no GPU" : `, ${machine.gpu} with ${formatBytes(machine.vramFreeBytes)} VRAM free`),
  ]);
  if (report.engine) {
    rows.push(["Engine", describeBuild(report.engine)]);
    if (report.engine.fallbackReason) rows.push(["", `not the local build: ${report.engine.fallbackReason}`]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) process.stdout.write(`${label.padEnd(width)}  ${value}\n`);
}

/** `marduk-local inspect <id|file|hf ref>`: metadata and fit estimate (`--json` for machines). */
export async function inspectCommand(args: string[]): Promise<number> {
  const options = parseInspectOptions(args, process.env);
  if (options === "help") {
    process.stdout.write(INSPECT_HELP);
    return 0;
  }
  const local = resolveLocal(options.target, options.modelsDir);
  let hfRef: HfModelRef | undefined;
  if (!local) {
    let parsed;
    try {
      parsed = parseModelRef(options.target, {
        starterNames: STARTER_MODELS.map((starter) => starter.name),
        hubEndpoint: process.env.HF_ENDPOINT || undefined,
      });
    } catch (error) {
      if (error instanceof InvalidArgumentError) {
        throw new CliUsageError(`no model '${options.target}' in ${options.modelsDir}, and it is not an hf ref (${error.message})`);
      }
      throw error;
    }
    if (parsed.kind === "url") throw new CliUsageError("inspect reads hub refs and local files; for a URL, pull it first");
    hfRef = parsed.kind === "starter" ? { kind: "hf", repo: findStarterModel(parsed.name)!.repo } : parsed;
  }

  // VRAM can only be measured through a llama.cpp runtime with a GPU backend.
  let runtime: LlamaRuntime | undefined;
  // The engine build recorded by `marduk-local engine build` in the data dir serve uses.
  const engineDir = engineDirOf(process.env.MARDUK_DATA_DIR || defaultDataDir());
  if (options.backend !== "cpu") {
    const { LlamaRuntime } = await import("../../core/llama/LlamaRuntime.js");
    runtime = await LlamaRuntime.create({ backend: options.backend, threads: 1, engineDir }).catch(() => undefined);
  }
  const llama = runtime?.llama.gpu ? runtime.llama : undefined;
  const hub = HubClient.fromEnv(process.env, { llama: async () => llama });
  try {
    const machine = await probeMachineResources(llama);
    let report: InspectReport;
    if (local) {
      // A crafted header must not make the reader loop, nor the estimate abort inside llama.cpp.
      const headerProblem = await checkGgufHeader(local.path);
      if (headerProblem) throw new Error(`${local.path}: ${headerProblem}`);
      const { readGgufFileInfo } = await import("node-llama-cpp");
      let fileInfo;
      try {
        fileInfo = await readGgufFileInfo(local.path, { logWarnings: false });
      } catch (error) {
        throw new Error(`${local.path}: ${describeGgufReadFailure(error)}`, { cause: error });
      }
      const parts = localParts(local.path);
      report = {
        source: {
          kind: "file",
          path: local.path,
          ...(local.id ? { id: local.id } : {}),
          sizeBytes: parts.reduce((sum, part) => sum + statSync(part).size, 0),
          parts: parts.length,
        },
        summary: await summarizeGgufInfo(fileInfo, local.path),
        fit: await estimateFit(fileInfo, { ...options.loadOptions, contextSize: options.contextSize, sequences: options.sequences, llama, machine }),
      };
    } else {
      const ref = hfRef!;
      let repository: InspectReport["repository"];
      let filePath = ref.file;
      let revision = ref.revision ?? "main";
      let sizeBytes: number | undefined;
      if (filePath === undefined || ref.quant !== undefined) {
        const listing = await hub.listGgufFiles(ref.repo, { revision: ref.revision });
        const starter = STARTER_MODELS.find((candidate) => candidate.repo === ref.repo);
        const picked = ref.quant
          ? (await hub.resolveModel(ref)).model
          : pickQuantization(listing.models, machine, { preferred: starter?.preferredQuant });
        if (!ref.quant) repository = { repo: ref.repo, ...(listing.commit ? { commit: listing.commit } : {}), groups: listing.groups, ...(picked ? { picked: picked.path } : {}) };
        if (!picked) {
          if (options.json) process.stdout.write(JSON.stringify({ repository }, null, 2) + "\n");
          else if (repository) printListing(repository);
          process.stderr.write(`No quantization of ${ref.repo} fits this machine's free memory.\n`);
          return 1;
        }
        filePath = picked.path;
        sizeBytes = picked.sizeBytes;
        revision = listing.commit ?? revision;
      }
      const remote = await hub.estimateFit(ref.repo, filePath, {
        revision,
        contextSize: options.contextSize,
        sequences: options.sequences,
        machine,
      });
      report = {
        source: { kind: "hf", repo: ref.repo, revision, file: filePath, url: remote.url, ...(sizeBytes !== undefined ? { sizeBytes } : {}) },
        summary: remote.summary,
        fit: remote.fit,
        ...(repository ? { repository } : {}),
      };
    }
    const { describeChoice, selectEngineBuild } = await import("../../core/engine-build/selectEngineBuild.js");
    report.engine = runtime?.build ?? describeChoice(await selectEngineBuild({ engineDir, backend: options.backend }), options.backend);
    if (options.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else printReport(report);
    return 0;
  } finally {
    hub.dispose();
    await runtime?.dispose();
  }
}
