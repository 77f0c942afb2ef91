import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EngineBuildProgress } from "../../src/shared/contract/engine.js";
import { buildCmakeOptions, EngineBuilder } from "../../src/core/engine-build/EngineBuilder.js";
import { chooseBuildGpu, detectGpuToolchains, type ToolchainProbes } from "../../src/core/engine-build/detectGpuToolchains.js";
import { buildLockPath } from "../../src/core/engine-build/engineBuildPaths.js";
import { FakeEngineWorker } from "../helpers/fakeEngineWorker.js";
import { readLocalBuildRecord } from "../../src/core/engine-build/localBuildRecord.js";

let root: string;
let engineDir: string;
let localBuildsDir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "marduk-builder-"));
  engineDir = path.join(root, "engine");
  localBuildsDir = path.join(root, "llama", "localBuilds");
  mkdirSync(localBuildsDir, { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Probes of a machine with the given tools and GPU drivers. */
function probes(tools: Record<string, string>, drivers: Array<"cuda" | "vulkan" | "metal"> = [], platform: NodeJS.Platform = "linux"): ToolchainProbes {
  return {
    supportedGpus: async () => drivers,
    findExecutable: async (name) => (name in tools ? `/usr/bin/${name}` : undefined),
    versionOf: async (executable) => tools[path.basename(executable)],
    platform,
    env: {},
  };
}

function builderWith(worker: FakeEngineWorker, tools: Record<string, string> = { cmake: "cmake 3.25", "g++": "g++ 12" }): EngineBuilder {
  return new EngineBuilder({ engineDir, localBuildsDir, spawnWorker: worker.spawn, toolchainProbes: probes(tools), cpu: "x64:test", progressIntervalMs: 0 });
}

describe("EngineBuilder", () => {
  it("builds in a worker, reports progress from its output, and records the verified build", async () => {
    const worker = new FakeEngineWorker();
    const builder = builderWith(worker);
    const events: EngineBuildProgress[] = [];
    builder.onProgress((progress) => events.push(progress));
    const started = await builder.start();
    expect(started).toMatchObject({ phase: "starting", gpu: "cpu" });
    expect(worker.request).toEqual({ mode: "build", gpu: "cpu", cmakeOptions: buildCmakeOptions(started.id), localBuildsDir });
    expect(worker.request?.cmakeOptions).toMatchObject({ GGML_NATIVE: "ON", GGML_OPENMP: "ON" });
    // One build at a time: a second start joins the first.
    expect((await builder.start()).id).toBe(started.id);
    expect(existsSync(buildLockPath(localBuildsDir))).toBe(true);

    worker.handlers.onLine?.("-- Configuring done");
    worker.handlers.onLine?.("[10/100] Building CXX object ggml.c.o");
    worker.handlers.onVerifying?.();
    expect(builder.progress).toMatchObject({ phase: "verifying", step: 10, steps: 100 });
    worker.succeed(localBuildsDir);
    const ended = await builder.whenIdle();
    expect(ended).toMatchObject({ phase: "done", percent: 100 });
    expect(events.map((event) => event.phase)).toEqual(["starting", "configuring", "compiling", "verifying", "done"]);
    const { record } = await readLocalBuildRecord(engineDir);
    expect(record).toMatchObject({ folderName: "linux-x64-new", gpu: "cpu", cmakeOptions: worker.request!.cmakeOptions, verified: { cpu: "x64:test", binarySizeBytes: 6 } });
    expect(builder.builtHere).toBe(true);
    expect(existsSync(buildLockPath(localBuildsDir))).toBe(false);
  });

  it("lets starts that overlap join one build", async () => {
    let spawned = 0;
    const worker = new FakeEngineWorker();
    const counting: typeof worker.spawn = (request, handlers) => {
      spawned++;
      return worker.spawn(request, handlers);
    };
    const builder = new EngineBuilder({ engineDir, localBuildsDir, spawnWorker: counting, toolchainProbes: probes({}), progressIntervalMs: 0 });
    const [first, second] = await Promise.all([builder.start(), builder.start()]);
    expect(second.id).toBe(first.id);
    expect(spawned).toBe(1);
    worker.fail("stop");
    expect(await builder.whenIdle()).toMatchObject({ phase: "failed", error: "stop" });
  });

  it("says so when the new build crashes while it is checked", async () => {
    const worker = new FakeEngineWorker();
    const builder = builderWith(worker);
    await builder.start();
    worker.handlers.onVerifying?.();
    worker.fail("the worker was killed by SIGILL");
    expect(await builder.whenIdle()).toMatchObject({ phase: "failed", error: expect.stringMatching(/^the new build does not run on this machine: .*SIGILL/) });
  });

  it("removes the build it replaces, and what a failed build left, keeping the build in use", async () => {
    const first = new FakeEngineWorker();
    const builder = builderWith(first);
    await builder.start();
    first.succeed(localBuildsDir, "linux-x64-first");
    await builder.whenIdle();

    const second = new FakeEngineWorker();
    const again = builderWith(second);
    await again.start();
    // The failed build's folders: a half-made one, and a finished one that failed its check.
    mkdirSync(path.join(localBuildsDir, "linux-x64-half"));
    mkdirSync(path.join(localBuildsDir, "linux-x64-crashes", "Release"), { recursive: true });
    writeFileSync(path.join(localBuildsDir, "linux-x64-crashes", "buildDone.status"), "");
    second.fail("cmake exited with code 1", ["ninja: build stopped: subcommand failed.", "error: 'foo' was not declared in this scope"]);
    const failed = await again.whenIdle();
    expect(failed).toMatchObject({ phase: "failed", error: expect.stringMatching(/cmake exited with code 1 \/ .*not declared/) });
    expect(existsSync(path.join(localBuildsDir, "linux-x64-half"))).toBe(false);
    expect(existsSync(path.join(localBuildsDir, "linux-x64-crashes"))).toBe(false);
    expect(existsSync(path.join(localBuildsDir, "linux-x64-first"))).toBe(true);
    expect((await readLocalBuildRecord(engineDir)).record?.folderName).toBe("linux-x64-first");

    const third = new FakeEngineWorker();
    const replacing = builderWith(third);
    await replacing.start();
    third.succeed(localBuildsDir, "linux-x64-third");
    await replacing.whenIdle();
    expect(existsSync(path.join(localBuildsDir, "linux-x64-first"))).toBe(false);
    expect((await readLocalBuildRecord(engineDir)).record?.folderName).toBe("linux-x64-third");
  });

  it("cancels a running build: the worker is stopped and nothing is recorded", async () => {
    const worker = new FakeEngineWorker();
    const builder = builderWith(worker);
    await builder.start();
    builder.cancel();
    expect(worker.cancelled).toBe(true);
    expect(await builder.whenIdle()).toMatchObject({ phase: "cancelled" });
    expect((await readLocalBuildRecord(engineDir)).record).toBeUndefined();
    expect(existsSync(buildLockPath(localBuildsDir))).toBe(false);
  });

  it("refuses a second build while another process holds the lock, and takes over a dead one's", async () => {
    writeFileSync(buildLockPath(localBuildsDir), JSON.stringify({ pid: process.pid }));
    const worker = new FakeEngineWorker();
    await expect(builderWith(worker).start()).rejects.toMatchObject({ code: "unsupported", message: expect.stringMatching(/another llama\.cpp build is running/) });
    expect(worker.request).toBeUndefined();
    // A pid that cannot be alive.
    writeFileSync(buildLockPath(localBuildsDir), JSON.stringify({ pid: 2 ** 30 }));
    await builderWith(worker).start();
    expect(worker.request?.mode).toBe("build");
    worker.fail("stop");
  });

  it("refuses a GPU whose toolchain is missing, naming what is missing", async () => {
    const worker = new FakeEngineWorker();
    await expect(builderWith(worker).start({ gpu: "cuda" })).rejects.toMatchObject({ code: "invalid_argument", param: "gpu", message: expect.stringMatching(/no CUDA toolkit/) });
    expect(worker.request).toBeUndefined();
  });
});

describe("build options", () => {
  it("tunes for this CPU with OpenMP, keeps AMX off on x64 (llama.cpp's AMX kernels crash on some CPUs), and is new per build", () => {
    expect(buildCmakeOptions("b1", "linux", "x64")).toEqual({
      GGML_NATIVE: "ON",
      GGML_OPENMP: "ON",
      CMAKE_C_FLAGS_RELEASE: "-O3 -DNDEBUG -mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
      CMAKE_CXX_FLAGS_RELEASE: "-O3 -DNDEBUG -mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
      MARDUK_BUILD_ID: "b1",
    });
    expect(buildCmakeOptions("b2", "linux", "arm64")).toEqual({ GGML_NATIVE: "ON", GGML_OPENMP: "ON", MARDUK_BUILD_ID: "b2" });
    expect(buildCmakeOptions("b3", "win32", "x64")).not.toHaveProperty("CMAKE_CXX_FLAGS_RELEASE");
  });
});

describe("GPU toolchains", () => {
  it("needs both the compiler and the driver, and says which is missing", async () => {
    const nvcc = "Cuda compilation tools, release 13.0, V13.0.88";
    expect(await detectGpuToolchains(probes({ nvcc }))).toEqual([
      { gpu: "cuda", usable: false, detail: "CUDA toolkit 13.0 found (/usr/bin/nvcc), but no NVIDIA driver or GPU: a CUDA build would not run here" },
      { gpu: "vulkan", usable: false, detail: "no Vulkan SDK (glslc) and no Vulkan driver" },
    ]);
    const withDrivers = await detectGpuToolchains(probes({ nvcc, glslc: "glslc" }, ["cuda", "vulkan"]));
    expect(withDrivers.map((toolchain) => toolchain.usable)).toEqual([true, true]);
    expect((await detectGpuToolchains(probes({}, ["vulkan"])))[1]).toEqual({ gpu: "vulkan", usable: false, detail: "Vulkan driver found, but no Vulkan SDK (glslc)" });
    expect((await detectGpuToolchains(probes({}, ["metal"], "darwin")))[0]).toEqual({ gpu: "metal", usable: true, detail: "Metal found" });
  });

  it("builds for the first usable GPU with auto, else the CPU", () => {
    const none = [{ gpu: "cuda" as const, usable: false, detail: "no CUDA toolkit" }];
    expect(chooseBuildGpu("auto", none)).toEqual({ gpu: "cpu" });
    expect(chooseBuildGpu("cpu", none)).toEqual({ gpu: "cpu" });
    expect(chooseBuildGpu("cuda", none)).toEqual({ error: "cannot build for cuda: no CUDA toolkit" });
    expect(chooseBuildGpu("auto", [...none, { gpu: "vulkan", usable: true, detail: "ok" }])).toEqual({ gpu: "vulkan" });
  });

  it("says why an installation cannot build (no cmake means a download: not offline)", async () => {
    const worker = new FakeEngineWorker();
    const builder = new EngineBuilder({ engineDir, localBuildsDir, toolchainProbes: probes({ "g++": "g++" }) });
    // With the real worker (no spawnWorker given) the tools are checked.
    expect(await builder.cannotBuildReason()).toMatch(/cmake is not installed/);
    expect(await new EngineBuilder({ engineDir, localBuildsDir, toolchainProbes: probes({ cmake: "cmake" }) }).cannotBuildReason()).toMatch(/no C\+\+ compiler/);
    expect(await builderWith(worker).cannotBuildReason()).toBeUndefined();
    await expect(new EngineBuilder({ engineDir, localBuildsDir: path.join(root, "app.asar", "llama", "localBuilds"), spawnWorker: worker.spawn }).start()).rejects.toMatchObject({
      code: "unsupported",
      message: expect.stringMatching(/packed in the app's archive/),
    });
  });
});
