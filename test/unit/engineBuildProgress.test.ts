import { describe, expect, it } from "vitest";
import { BuildProgressTracker, parseBuildLine } from "../../src/core/engine-build/buildProgress.js";

describe("parseBuildLine", () => {
  it("reads ninja's [n/m] steps, shortening the object path", () => {
    expect(parseBuildLine("[120/277] Building CXX object llama.cpp/ggml/src/CMakeFiles/ggml-cpu.dir/ggml-cpu/ops.cpp.o")).toEqual({
      phase: "compiling",
      step: 120,
      steps: 277,
      message: "Building CXX object ops.cpp",
    });
    expect(parseBuildLine("[277/277] Linking CXX shared module Release/llama-addon.node")).toMatchObject({ step: 277, steps: 277, message: "Linking CXX shared module llama-addon.node" });
  });

  it("reads make's [ n%] lines when cmake picked Unix Makefiles", () => {
    expect(parseBuildLine("[ 45%] Building C object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o")).toEqual({ phase: "compiling", percent: 45, message: "Building C object ggml.c" });
  });

  it("tells cloning and configuring apart from other output, through terminal escapes", () => {
    expect(parseBuildLine("\u001b[2K\u001b[1A\u001b[G[node-llama-cpp] Cloning ggml-org/llama.cpp (local bundle)   70%")).toMatchObject({ phase: "cloning" });
    expect(parseBuildLine("-- The C compiler identification is GNU 12.2.0")).toEqual({ phase: "configuring", message: "The C compiler identification is GNU 12.2.0" });
    expect(parseBuildLine("-- Configuring done")).toMatchObject({ phase: "configuring" });
    expect(parseBuildLine("Repo: ggml-org/llama.cpp")).toBeUndefined();
    expect(parseBuildLine("")).toBeUndefined();
    expect(parseBuildLine("warning: unused variable")).toBeUndefined();
  });

  it("ignores step counts that make no sense", () => {
    expect(parseBuildLine("[5/0] Building")).toBeUndefined();
    expect(parseBuildLine("[9/3] Building")).toBeUndefined();
    expect(parseBuildLine("[ 150%] Building")).toBeUndefined();
  });
});

describe("BuildProgressTracker", () => {
  it("moves through the phases with a percent that only grows, compiling being most of it", () => {
    const tracker = new BuildProgressTracker("b1", "cpu", 1000);
    expect(tracker.progress).toMatchObject({ id: "b1", phase: "starting", percent: 0, gpu: "cpu", startedAt: 1000 });
    expect(tracker.line("[node-llama-cpp] Cloning ggml-org/llama.cpp (local bundle)")).toBe(true);
    expect(tracker.progress.phase).toBe("cloning");
    tracker.line("-- Detecting CXX compiler ABI info - done");
    const configuring = tracker.progress.percent;
    expect(tracker.progress.phase).toBe("configuring");
    tracker.line("[1/200] Building CXX object a.cpp.o");
    expect(tracker.progress).toMatchObject({ phase: "compiling", step: 1, steps: 200 });
    tracker.line("[100/200] Building CXX object b.cpp.o");
    const half = tracker.progress.percent;
    expect(half).toBeGreaterThan(40);
    expect(half).toBeLessThan(60);
    // A late clone log does not move the phase (nor the percent) back.
    expect(tracker.line("Cloned ggml-org/llama.cpp")).toBe(false);
    expect(tracker.progress.phase).toBe("compiling");
    tracker.line("[200/200] Linking CXX shared module llama-addon.node");
    expect(tracker.progress.percent).toBeLessThan(100);
    expect(tracker.progress.percent).toBeGreaterThan(configuring);
    tracker.verifying();
    expect(tracker.progress.phase).toBe("verifying");
    tracker.end("done", "Built", 2000);
    expect(tracker.progress).toMatchObject({ phase: "done", percent: 100, endedAt: 2000 });
    expect(tracker.line("[1/2] more")).toBe(false);
  });

  it("keeps the percent reached when a build fails, with the error", () => {
    const tracker = new BuildProgressTracker("b2", "cuda");
    tracker.line("[50/100] Building CUDA object x.cu.o");
    const reached = tracker.progress.percent;
    tracker.end("failed", "The build failed", 5, "nvcc fatal: unsupported gpu architecture");
    expect(tracker.progress).toMatchObject({ phase: "failed", percent: reached, error: "nvcc fatal: unsupported gpu architecture", endedAt: 5 });
    tracker.end("done", "late");
    expect(tracker.progress.phase).toBe("failed");
  });
});
