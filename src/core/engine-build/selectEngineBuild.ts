import { stat } from "node:fs/promises";
import path from "node:path";
import type { EngineBuildInfo } from "../../shared/contract/engine.js";
import type { Backend } from "../llama/backend.js";
import { cpuFingerprint } from "./cpuFingerprint.js";
import { bundledLlamaCppRelease, defaultLocalBuildsDir, localBuildBinaryPath, localBuildDoneMarker, nodeLlamaCppVersion } from "./engineBuildPaths.js";
import { describeRecordedBuild, readLocalBuildRecord, type LocalBuildRecord, type RecordReading } from "./localBuildRecord.js";

/** What the choice between the local build and the prebuilt binary depends on. */
export interface SelectionFacts {
  reading: RecordReading;
  /** The compute backend asked for (`--gpu`). */
  requestedBackend: Backend;
  installedNodeLlamaCppVersion: string;
  /** The recorded build's binary, when its folder holds a finished build. */
  binary?: { sizeBytes: number; mtimeMs: number };
  /** Where the recorded build's files were looked for. */
  buildFolder?: string;
  /** This machine's {@link cpuFingerprint}. */
  cpu: string;
}

/** Which build a runtime starting now should load. */
export type EngineBuildChoice =
  /** `verifyBecause`: the build must first load in a child process (another CPU, a changed binary). */
  | { kind: "local"; record: LocalBuildRecord; verifyBecause?: string }
  /** `reason`: why a recorded local build is not used (absent when none was recorded). */
  | { kind: "prebuilt"; reason?: string };

/** The decision itself, over gathered facts (pure, for tests). */
export function decideEngineBuild(facts: SelectionFacts): EngineBuildChoice {
  const { reading } = facts;
  if (!reading.record) return reading.problem ? { kind: "prebuilt", reason: reading.problem } : { kind: "prebuilt" };
  const record = reading.record;
  if (record.nodeLlamaCppVersion !== facts.installedNodeLlamaCppVersion) {
    return {
      kind: "prebuilt",
      reason: `the local build was compiled for node-llama-cpp ${record.nodeLlamaCppVersion}, but ${facts.installedNodeLlamaCppVersion} is installed (run \`marduk-local engine build\` again)`,
    };
  }
  const requested = facts.requestedBackend;
  if (requested !== "auto" && requested !== record.gpu) {
    return { kind: "prebuilt", reason: `the local build is for ${record.gpu}, but the ${requested} backend was asked for` };
  }
  if (!facts.binary) {
    return {
      kind: "prebuilt",
      reason: `the local build's files are missing from ${facts.buildFolder ?? record.folderName} (node_modules reinstalled?); run \`marduk-local engine build\` again`,
    };
  }
  const { rejected } = record;
  if (rejected && rejected.cpu === facts.cpu && rejected.binarySizeBytes === facts.binary.sizeBytes && rejected.binaryMtimeMs === facts.binary.mtimeMs) {
    return { kind: "prebuilt", reason: `the local build failed its check on this CPU: ${rejected.reason} (run \`marduk-local engine build\` again)` };
  }
  if (record.verified.cpu !== facts.cpu) return { kind: "local", record, verifyBecause: "it was verified on another CPU" };
  if (record.verified.binarySizeBytes !== facts.binary.sizeBytes || record.verified.binaryMtimeMs !== facts.binary.mtimeMs) {
    return { kind: "local", record, verifyBecause: "its binary changed since it was verified" };
  }
  return { kind: "local", record };
}

/** Options of {@link selectEngineBuild}. */
export interface SelectEngineBuildOptions {
  /** The engine folder of the data dir (`<data dir>/engine`). */
  engineDir: string;
  /** Default: "auto". */
  backend?: Backend;
  /** node-llama-cpp's local builds folder. Default: the installed package's `llama/localBuilds`. */
  localBuildsDir?: string;
  /** This machine's CPU fingerprint. Default: {@link cpuFingerprint}. */
  cpu?: string;
}

/** Reads the record and the build's files, then decides; reads a few small files, loads nothing. */
export async function selectEngineBuild(options: SelectEngineBuildOptions): Promise<EngineBuildChoice> {
  return decideEngineBuild(await gatherSelectionFacts(options));
}

export async function gatherSelectionFacts(options: SelectEngineBuildOptions): Promise<SelectionFacts> {
  const reading = await readLocalBuildRecord(options.engineDir);
  const localBuildsDir = options.localBuildsDir ?? defaultLocalBuildsDir();
  const facts: SelectionFacts = {
    reading,
    requestedBackend: options.backend ?? "auto",
    installedNodeLlamaCppVersion: nodeLlamaCppVersion(),
    cpu: options.cpu ?? cpuFingerprint(),
  };
  if (reading.record) {
    const { folderName } = reading.record;
    facts.buildFolder = path.join(localBuildsDir, folderName);
    const [binary, done] = await Promise.all([
      stat(localBuildBinaryPath(localBuildsDir, folderName)).catch(() => undefined),
      stat(localBuildDoneMarker(localBuildsDir, folderName)).catch(() => undefined),
    ]);
    if (binary?.isFile() && done) facts.binary = { sizeBytes: binary.size, mtimeMs: Math.trunc(binary.mtimeMs) };
  }
  return facts;
}

/**
 * A choice as build info (`source: "selection"`), for reports made without starting llama.cpp
 * (`/health` before the runtime exists: model host processes make this choice when they start).
 */
export function describeChoice(choice: EngineBuildChoice, backend: Backend = "auto"): EngineBuildInfo {
  if (choice.kind === "local") {
    const { record } = choice;
    return { kind: "local", gpu: record.gpu, llamaCppRelease: record.llamaCppRelease, ...describeRecordedBuild(record), source: "selection" };
  }
  return {
    kind: "prebuilt",
    gpu: backend,
    llamaCppRelease: bundledLlamaCppRelease(),
    // node-llama-cpp's prebuilt CPU binaries: generic CPU variants, no OpenMP (its CI builds them so).
    native: false,
    openmp: false,
    ...(choice.reason ? { fallbackReason: choice.reason } : {}),
    source: "selection",
  };
}
