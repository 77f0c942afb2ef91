/**
 * A local build on record that cannot be used falls back to node-llama-cpp's prebuilt binary
 * with the reason, through the real getLlama and the real check process (no model, nothing
 * compiled: the records point at builds node-llama-cpp does not have).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpuFingerprint } from "../../src/core/engine-build/cpuFingerprint.js";
import { nodeLlamaCppVersion } from "../../src/core/engine-build/engineBuildPaths.js";
import { loadEngineBuild } from "../../src/core/engine-build/loadEngineBuild.js";
import { LOCAL_BUILD_RECORD_VERSION, writeLocalBuildRecord, type LocalBuildRecord } from "../../src/core/engine-build/localBuildRecord.js";
import { LlamaRuntime } from "../../src/core/llama/LlamaRuntime.js";

describe("engine build fallback", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "marduk-engine-fallback-"));
  const engineDir = path.join(root, "engine");
  const localBuildsDir = path.join(root, "localBuilds");
  // A build id no real build has: node-llama-cpp's folder for these options does not exist.
  const buildId = `test-${process.pid}-${Date.now()}`;
  const folderName = `linux-x64-${buildId}`;
  let record: LocalBuildRecord;

  beforeAll(async () => {
    mkdirSync(path.join(localBuildsDir, folderName, "Release"), { recursive: true });
    const binary = path.join(localBuildsDir, folderName, "Release", "llama-addon.node");
    writeFileSync(binary, "this is not a shared library");
    writeFileSync(path.join(localBuildsDir, folderName, "buildDone.status"), "");
    const stats = statSync(binary);
    record = {
      version: LOCAL_BUILD_RECORD_VERSION,
      folderName,
      cmakeOptions: { GGML_NATIVE: "ON", GGML_OPENMP: "ON", MARDUK_BUILD_ID: buildId },
      gpu: "cpu",
      llamaCppRelease: "v0.4.0",
      nodeLlamaCppVersion: nodeLlamaCppVersion(),
      builtAt: Date.now(),
      verified: { cpu: cpuFingerprint(), binarySizeBytes: stats.size, binaryMtimeMs: Math.trunc(stats.mtimeMs), systemInfo: "" },
    };
    await writeLocalBuildRecord(engineDir, record);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("starts the runtime on the prebuilt binary when the recorded build's files are gone", async () => {
    // LlamaRuntime looks in node-llama-cpp's real localBuilds folder, which has no such build.
    const runtime = await LlamaRuntime.create({ backend: "cpu", threads: 1, engineDir });
    try {
      expect(runtime.llama.buildType).toBe("prebuilt");
      expect(runtime.build).toMatchObject({ kind: "prebuilt", gpu: "cpu", native: false, source: "runtime", fallbackReason: expect.stringMatching(/files are missing/) });
    } finally {
      await runtime.dispose();
    }
  });

  it("falls back when node-llama-cpp cannot load the recorded build", async () => {
    const { llama, build } = await loadEngineBuild({ engineDir, localBuildsDir, backend: "cpu", llamaOptions: {} });
    try {
      expect(llama.buildType).toBe("prebuilt");
      expect(build).toMatchObject({ kind: "prebuilt", fallbackReason: expect.stringMatching(/^the local build failed to load: /) });
    } finally {
      await llama.dispose();
    }
  });

  it("falls back when the check in a child process fails (a build verified on another CPU)", async () => {
    await writeLocalBuildRecord(engineDir, { ...record, verified: { ...record.verified, cpu: "x64:some-other-cpu" } });
    const { llama, build } = await loadEngineBuild({ engineDir, localBuildsDir, backend: "cpu", llamaOptions: {} });
    try {
      expect(llama.buildType).toBe("prebuilt");
      expect(build.fallbackReason).toMatch(/^the local build failed its check in a child process \(it was verified on another CPU\): /);
    } finally {
      await llama.dispose();
    }
  });
});
