import { describe, expect, it } from "vitest";
import { createEngineStore, describeEngine, isBuildRunning } from "../../src/renderer/src/features/server/engineStore.js";
import { createFakeMardukApi, FakeRpcError, settle } from "./rendererFakeApi.js";

describe("engine store", () => {
  it("reads which build runs, and describes it in one line", async () => {
    const { api } = createFakeMardukApi();
    const store = createEngineStore(api);
    await store.getState().init();
    expect(describeEngine(store.getState().status!.current)).toBe("Prebuilt binary · CPU · generic CPU code · no OpenMP · llama.cpp v0.4.0");
    expect(describeEngine({ kind: "local", gpu: "cuda", llamaCppRelease: "v0.4.0", native: true, openmp: true, source: "runtime" })).toBe(
      "Local build · CUDA · native · OpenMP · llama.cpp v0.4.0",
    );
  });

  it("starts a build, follows its progress events, and reads the status again when it ends", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createEngineStore(api);
    await store.getState().init();
    await store.getState().startBuild();
    expect(fake.callsOf("engine.startBuild")).toEqual([{}]);
    expect(isBuildRunning(store.getState().build)).toBe(true);

    fake.engineProgress.emit({ ...fake.engineBuild, phase: "compiling", step: 10, steps: 100, percent: 20 });
    expect(store.getState().build).toMatchObject({ phase: "compiling", step: 10 });
    const statusReads = fake.callsOf("engine.status").length;
    fake.engineStatus = { ...fake.engineStatus, restartNeeded: true, localBuild: { builtAt: 2, gpu: "cpu", llamaCppRelease: "v0.4.0", native: true, openmp: true } };
    fake.engineProgress.emit({ ...fake.engineBuild, phase: "done", percent: 100, endedAt: 3 });
    await settle();
    expect(fake.callsOf("engine.status").length).toBe(statusReads + 1);
    expect(isBuildRunning(store.getState().build)).toBe(false);
    expect(store.getState().status?.restartNeeded).toBe(true);
  });

  it("keeps progress that overtook the start's answer", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createEngineStore(api);
    await store.getState().init();
    const release = fake.holdAnswer("engine.startBuild");
    const starting = store.getState().startBuild();
    fake.engineProgress.emit({ ...fake.engineBuild, phase: "compiling", percent: 30 });
    release();
    await starting;
    expect(store.getState().build).toMatchObject({ phase: "compiling", percent: 30 });
  });

  it("shows why a build cannot start, and cancels a running one", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createEngineStore(api);
    await store.getState().init();
    fake.failNext("engine.startBuild", new FakeRpcError("unsupported", "Cannot build llama.cpp here: cmake is not installed"));
    await store.getState().startBuild();
    expect(store.getState().error).toMatch(/cmake is not installed/);
    store.getState().clearError();
    await store.getState().cancelBuild();
    expect(fake.callsOf("engine.cancelBuild")).toHaveLength(1);
    store.getState().dispose();
    expect(fake.engineProgress.listenerCount).toBe(0);
  });
});
