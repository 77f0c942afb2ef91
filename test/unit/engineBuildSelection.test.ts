import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { getLlama, Llama } from "node-llama-cpp";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { localBuildRecordPath, nodeLlamaCppVersion } from "../../src/core/engine-build/engineBuildPaths.js";
import type { SpawnEngineWorker, WorkerOutcome } from "../../src/core/engine-build/engineWorkerProcess.js";
import { loadEngineBuild } from "../../src/core/engine-build/loadEngineBuild.js";
import { LOCAL_BUILD_RECORD_VERSION, readLocalBuildRecord, writeLocalBuildRecord, type LocalBuildRecord } from "../../src/core/engine-build/localBuildRecord.js";
import { decideEngineBuild, describeChoice, selectEngineBuild } from "../../src/core/engine-build/selectEngineBuild.js";

const CPU = "x64:cpu-here";
let root: string;
let engineDir: string;
let localBuildsDir: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "marduk-engine-"));
  engineDir = path.join(root, "data", "engine");
  localBuildsDir = path.join(root, "localBuilds");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A finished build's files, as node-llama-cpp leaves them. */
function makeBuildFolder(folderName: string, binary = "not really a binary"): { size: number; mtimeMs: number } {
  mkdirSync(path.join(localBuildsDir, folderName, "Release"), { recursive: true });
  writeFileSync(path.join(localBuildsDir, folderName, "Release", "llama-addon.node"), binary);
  writeFileSync(path.join(localBuildsDir, folderName, "buildDone.status"), "");
  const stats = statSync(path.join(localBuildsDir, folderName, "Release", "llama-addon.node"));
  return { size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs) };
}

function record(extra: Partial<LocalBuildRecord> = {}, binary = { size: 0, mtimeMs: 0 }): LocalBuildRecord {
  return {
    version: LOCAL_BUILD_RECORD_VERSION,
    folderName: "linux-x64-abc123",
    cmakeOptions: { GGML_NATIVE: "ON", GGML_OPENMP: "ON", MARDUK_BUILD_ID: "abc123" },
    gpu: "cpu",
    llamaCppRelease: "v0.4.0",
    nodeLlamaCppVersion: nodeLlamaCppVersion(),
    builtAt: 1,
    verified: { cpu: CPU, binarySizeBytes: binary.size, binaryMtimeMs: binary.mtimeMs, systemInfo: "CPU : AVX2 = 1 | OPENMP = 1 |" },
    ...extra,
  };
}

async function recordBuild(extra: Partial<LocalBuildRecord> = {}): Promise<LocalBuildRecord> {
  const binary = makeBuildFolder(extra.folderName ?? "linux-x64-abc123");
  const written = record(extra, binary);
  await writeLocalBuildRecord(engineDir, written);
  return written;
}

describe("choosing the engine build", () => {
  const select = (backend: "auto" | "cpu" | "cuda" = "auto") => selectEngineBuild({ engineDir, localBuildsDir, cpu: CPU, backend });

  it("uses the prebuilt binary, without a reason, when no build is recorded", async () => {
    expect(await select()).toEqual({ kind: "prebuilt" });
  });

  it("uses a recorded build whose files are there, verified on this CPU", async () => {
    const recorded = await recordBuild();
    expect(await select()).toEqual({ kind: "local", record: recorded });
    expect(describeChoice(await select())).toEqual({ kind: "local", gpu: "cpu", llamaCppRelease: "v0.4.0", native: true, openmp: true, source: "selection" });
  });

  it("falls back with the reason when the record is not valid JSON, or damaged", async () => {
    mkdirSync(engineDir, { recursive: true });
    writeFileSync(localBuildRecordPath(engineDir), "{ not json");
    expect(await select()).toEqual({ kind: "prebuilt", reason: expect.stringMatching(/local-build\.json is not valid JSON/) });
    writeFileSync(localBuildRecordPath(engineDir), JSON.stringify({ ...record(), folderName: "../../etc" }));
    expect(await select()).toEqual({ kind: "prebuilt", reason: expect.stringMatching(/is damaged \(folderName/) });
    writeFileSync(localBuildRecordPath(engineDir), JSON.stringify({ ...record(), version: 1 }));
    expect(await select()).toEqual({ kind: "prebuilt", reason: expect.stringMatching(/recorded by another version of marduk-local \(record format 1\)/) });
    writeFileSync(localBuildRecordPath(engineDir), JSON.stringify({ ...record(), gpu: "quantum" }));
    expect((await select()).kind).toBe("prebuilt");
    expect(describeChoice(await select())).toMatchObject({ kind: "prebuilt", native: false, openmp: false, fallbackReason: expect.stringMatching(/damaged/) });
  });

  it("falls back when the build's files are gone or unfinished", async () => {
    await writeLocalBuildRecord(engineDir, record());
    expect(await select()).toEqual({ kind: "prebuilt", reason: expect.stringMatching(/files are missing from .*linux-x64-abc123/) });
    makeBuildFolder("linux-x64-abc123");
    rmSync(path.join(localBuildsDir, "linux-x64-abc123", "buildDone.status"));
    expect((await select()).kind).toBe("prebuilt");
  });

  it("falls back when the build is for another node-llama-cpp, or another backend than asked", async () => {
    await recordBuild({ nodeLlamaCppVersion: "3.0.0" });
    expect(await select()).toEqual({ kind: "prebuilt", reason: expect.stringMatching(/compiled for node-llama-cpp 3\.0\.0/) });
    await recordBuild();
    expect(await select("cuda")).toEqual({ kind: "prebuilt", reason: "the local build is for cpu, but the cuda backend was asked for" });
    expect((await select("cpu")).kind).toBe("local");
  });

  it("asks for a check in a child process when the CPU or the binary changed", async () => {
    const recorded = await recordBuild();
    expect(await selectEngineBuild({ engineDir, localBuildsDir, cpu: "x64:another-cpu" })).toEqual({ kind: "local", record: recorded, verifyBecause: "it was verified on another CPU" });
    writeFileSync(path.join(localBuildsDir, recorded.folderName, "Release", "llama-addon.node"), "a different, longer binary");
    expect(await select()).toEqual({ kind: "local", record: recorded, verifyBecause: "its binary changed since it was verified" });
  });

  it("decides from facts alone", () => {
    const facts = { requestedBackend: "auto" as const, installedNodeLlamaCppVersion: "3.21.1", cpu: CPU };
    expect(decideEngineBuild({ ...facts, reading: { record: undefined } })).toEqual({ kind: "prebuilt" });
    expect(decideEngineBuild({ ...facts, reading: { record: undefined, problem: "unreadable" } })).toEqual({ kind: "prebuilt", reason: "unreadable" });
    const recorded = record({ nodeLlamaCppVersion: "3.21.1" }, { size: 5, mtimeMs: 6 });
    expect(decideEngineBuild({ ...facts, reading: { record: recorded }, binary: { sizeBytes: 5, mtimeMs: 6 } })).toEqual({ kind: "local", record: recorded });
  });
});

/** A stand-in for node-llama-cpp's binding: only what loadEngineBuild reads. */
function fakeLlama(buildType: "localBuild" | "prebuilt", systemInfo: string): Llama {
  return { buildType, gpu: false, systemInfo, llamaCppRelease: { repo: "ggml-org/llama.cpp", release: "v0.4.0" }, dispose: async () => undefined } as unknown as Llama;
}

/** A getLlama that loads the local build only when `localLoads`, and records what it was asked. */
function fakeGetLlama(localLoads: boolean | "wrong-build"): { getLlama: typeof getLlama; calls: Array<Record<string, unknown>> } {
  const calls: Array<Record<string, unknown>> = [];
  const getLlamaFake = async (options: Record<string, unknown>) => {
    calls.push(options);
    if (options.cmakeOptions) {
      if (localLoads === true) return fakeLlama("localBuild", "CPU : AVX512 = 1 | OPENMP = 1 |");
      if (localLoads === "wrong-build") return fakeLlama("prebuilt", "CPU : AVX2 = 1 |");
      throw new Error("Failed to load a local build: invalid ELF header");
    }
    return fakeLlama("prebuilt", "CPU : AVX2 = 1 | REPACK = 1 |");
  };
  return { getLlama: getLlamaFake as unknown as typeof getLlama, calls };
}

function fakeWorker(outcome: WorkerOutcome): { spawnWorker: SpawnEngineWorker; runs: unknown[] } {
  const runs: unknown[] = [];
  return {
    runs,
    spawnWorker: (request) => {
      runs.push(request);
      return { outcome: Promise.resolve(outcome), cancel: () => undefined };
    },
  };
}

describe("loading the engine build", () => {
  const load = (fakes: { getLlama: typeof getLlama; spawnWorker?: SpawnEngineWorker }, cpu = CPU) =>
    loadEngineBuild({ engineDir, localBuildsDir, cpu, backend: "auto", llamaOptions: {}, ...fakes });

  it("loads the prebuilt binary, looking for no local build, without an engine folder", async () => {
    const fake = fakeGetLlama(true);
    const { build } = await loadEngineBuild({ llamaOptions: {}, getLlama: fake.getLlama });
    expect(build).toEqual({ kind: "prebuilt", gpu: "cpu", llamaCppRelease: "v0.4.0", native: false, openmp: false, source: "runtime" });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ build: "never", skipDownload: true, gpu: "auto" });
    expect(fake.calls[0]).not.toHaveProperty("cmakeOptions");
  });

  it("loads the recorded local build with its cmake options and no prebuilt fallback inside getLlama", async () => {
    const recorded = await recordBuild();
    const fake = fakeGetLlama(true);
    const { build } = await load(fake);
    expect(build).toEqual({ kind: "local", gpu: "cpu", llamaCppRelease: "v0.4.0", native: true, openmp: true, source: "runtime" });
    expect(fake.calls).toEqual([expect.objectContaining({ cmakeOptions: recorded.cmakeOptions, usePrebuiltBinaries: false, build: "never", gpu: false })]);
  });

  it("falls back to the prebuilt binary, with the reason, when the local build fails to load", async () => {
    await recordBuild();
    const fake = fakeGetLlama(false);
    const { llama, build } = await load(fake);
    expect(llama.buildType).toBe("prebuilt");
    expect(build).toMatchObject({ kind: "prebuilt", fallbackReason: "the local build failed to load: Failed to load a local build: invalid ELF header" });
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1]).not.toHaveProperty("cmakeOptions");
  });

  it("falls back when node-llama-cpp hands another binary than the local build", async () => {
    await recordBuild();
    const { build } = await load(fakeGetLlama("wrong-build"));
    expect(build).toMatchObject({ kind: "prebuilt", fallbackReason: expect.stringMatching(/loaded its prebuilt binary instead/) });
  });

  it("falls back, with the reason, for an absent or corrupt record, never loading the local build", async () => {
    await writeLocalBuildRecord(engineDir, record());
    let fake = fakeGetLlama(true);
    expect((await load(fake)).build).toMatchObject({ kind: "prebuilt", fallbackReason: expect.stringMatching(/files are missing/) });
    expect(fake.calls.every((call) => !("cmakeOptions" in call))).toBe(true);
    writeFileSync(localBuildRecordPath(engineDir), "garbage");
    fake = fakeGetLlama(true);
    expect((await load(fake)).build).toMatchObject({ kind: "prebuilt", fallbackReason: expect.stringMatching(/not valid JSON/) });
    expect(fake.calls).toHaveLength(1);
  });

  it("checks a build made on another CPU in a child process first: a crash there means the prebuilt binary", async () => {
    await recordBuild();
    const fake = fakeGetLlama(true);
    const worker = fakeWorker({ type: "result", ok: false, error: "the worker was killed by SIGILL", lastLines: [] });
    const { build } = await load({ ...fake, spawnWorker: worker.spawnWorker }, "x64:another-cpu");
    expect(worker.runs).toEqual([expect.objectContaining({ mode: "probe", gpu: "cpu" })]);
    expect(build).toMatchObject({ kind: "prebuilt", fallbackReason: "the local build failed its check in a child process (it was verified on another CPU): the worker was killed by SIGILL" });
    expect(fake.calls.every((call) => !("cmakeOptions" in call))).toBe(true);

    // The failure is kept: the next start on this CPU skips the check and says why.
    expect((await readLocalBuildRecord(engineDir)).record?.rejected).toMatchObject({ cpu: "x64:another-cpu", reason: "the worker was killed by SIGILL" });
    const again = fakeWorker({ type: "result", ok: true, buildType: "localBuild", systemInfo: "", llamaCppRelease: "v0.4.0" });
    const second = await load({ ...fakeGetLlama(true), spawnWorker: again.spawnWorker }, "x64:another-cpu");
    expect(again.runs).toHaveLength(0);
    expect(second.build.fallbackReason).toMatch(/failed its check on this CPU: the worker was killed by SIGILL/);
  });

  it("uses a build that passes the check, and records the CPU it passed on", async () => {
    await recordBuild();
    const worker = fakeWorker({ type: "result", ok: true, buildType: "localBuild", systemInfo: "CPU : AVX512 = 1 | OPENMP = 1 |", llamaCppRelease: "v0.4.0" });
    const { build } = await load({ ...fakeGetLlama(true), spawnWorker: worker.spawnWorker }, "x64:another-cpu");
    expect(build.kind).toBe("local");
    const reread = await readLocalBuildRecord(engineDir);
    expect(reread.record?.verified).toMatchObject({ cpu: "x64:another-cpu", systemInfo: "CPU : AVX512 = 1 | OPENMP = 1 |" });
    expect(reread.record?.rejected).toBeUndefined();
    expect(JSON.parse(readFileSync(localBuildRecordPath(engineDir), "utf8"))).toMatchObject({ version: LOCAL_BUILD_RECORD_VERSION });
  });
});
