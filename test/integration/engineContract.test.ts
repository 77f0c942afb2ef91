/**
 * The engine group over a real server's `/rpc` (admin keys only, as every contract group) and
 * the engine line of `/health`. The build's worker is a fake: nothing compiles.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineBuildProgress } from "../../src/shared/contract/engine.js";
import { EngineBuilder } from "../../src/core/engine-build/EngineBuilder.js";
import { engineDirOf } from "../../src/core/engine-build/engineBuildPaths.js";
import { waitForEvent } from "../helpers/events.js";
import { FakeEngineWorker } from "../helpers/fakeEngineWorker.js";
import { rawRequest } from "../helpers/rawHttp.js";
import { connectWebSocket, openRpcSocket, type ContractConnection } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("engine group", () => {
  const operatorKey = "sk-engine-operator";
  const root = mkdtempSync(path.join(os.tmpdir(), "marduk-engine-contract-"));
  const dataDir = path.join(root, "data");
  const localBuildsDir = path.join(root, "llama", "localBuilds");
  const worker = new FakeEngineWorker();
  let server: TestServer;
  let operator: ContractConnection;

  beforeAll(async () => {
    mkdirSync(localBuildsDir, { recursive: true });
    const engineBuilder = new EngineBuilder({
      engineDir: engineDirOf(dataDir),
      localBuildsDir,
      spawnWorker: worker.spawn,
      toolchainProbes: { supportedGpus: async () => [], findExecutable: async () => undefined, versionOf: async () => undefined, platform: "linux", env: {} },
      progressIntervalMs: 0,
    });
    server = await startTestServer({ withFixture: false, ui: false, apiKeys: [operatorKey], coreOptions: { dataDir, contract: { engineBuilder } } });
    operator = await connectWebSocket(server.url, { keyProtocol: operatorKey });
  });
  afterAll(async () => {
    await operator?.close();
    await server?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("needs an admin key: an inference key cannot reach it", async () => {
    const inference = await operator.api.server.createKey({ name: "script" });
    expect(await openRpcSocket(server.url, { keyProtocol: inference.key })).toMatchObject({ status: 403, body: expect.stringContaining("insufficient_scope") });
    expect(await operator.api.engine.status()).toMatchObject({ canBuild: true, restartNeeded: false });
  });

  it("reports the build in use, starts a build, streams its progress, and says a restart is needed once done", async () => {
    const before = await operator.api.engine.status();
    expect(before.current).toEqual({ kind: "prebuilt", gpu: "cpu", llamaCppRelease: expect.stringMatching(/^v/), native: false, openmp: false, source: "selection" });
    expect(before.localBuild).toBeUndefined();
    expect(before.toolchains.map((toolchain) => [toolchain.gpu, toolchain.usable])).toEqual([
      ["cuda", false],
      ["vulkan", false],
    ]);

    const compiling = waitForEvent(operator.api.engine.onProgress, (progress: EngineBuildProgress) => progress.phase === "compiling");
    const started = await operator.api.engine.startBuild({});
    expect(started).toMatchObject({ phase: "starting", gpu: "cpu" });
    worker.handlers.onLine?.("[3/10] Building CXX object llama.cpp/src/llama.cpp.o");
    expect(await compiling).toMatchObject({ id: started.id, step: 3, steps: 10 });

    const done = waitForEvent(operator.api.engine.onProgress, (progress: EngineBuildProgress) => progress.phase === "done");
    worker.succeed(localBuildsDir, "linux-x64-fake");
    expect(await done).toMatchObject({ id: started.id, percent: 100 });

    const after = await operator.api.engine.status();
    expect(after).toMatchObject({ localBuild: { gpu: "cpu", native: true, openmp: true }, build: { phase: "done" }, restartNeeded: true });
    // The server's own runtime looks in node-llama-cpp's real localBuilds, where this fake build is not.
    expect(after.current).toMatchObject({ kind: "prebuilt", fallbackReason: expect.stringMatching(/files are missing/) });
  });

  it("refuses a backend it does not know, naming the parameter", async () => {
    await expect(operator.api.engine.startBuild({ gpu: "tpu" as never })).rejects.toMatchObject({ code: "invalid_argument", param: "gpu" });
    await expect(operator.api.engine.startBuild({ gpu: "auto", extra: 1 } as never)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("adds the engine line to /health for key holders only", async () => {
    const full = JSON.parse((await rawRequest(`${server.url}/health`, { headers: { authorization: `Bearer ${operatorKey}` } })).body) as Record<string, unknown>;
    expect(full.engine).toMatchObject({ kind: "prebuilt", source: "selection", fallbackReason: expect.any(String) });
    const anonymous = JSON.parse((await rawRequest(`${server.url}/health`)).body) as Record<string, unknown>;
    expect(anonymous).not.toHaveProperty("engine");
  });
});
