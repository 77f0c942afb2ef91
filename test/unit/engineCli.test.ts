import { describe, expect, it } from "vitest";
import { ENGINE_HELP, formatProgressLine, parseEngineArgs } from "../../src/cli/commands/engine.js";
import { MAIN_HELP } from "../../src/cli/main.js";
import { CliUsageError } from "../../src/cli/cliError.js";

describe("marduk-local engine", () => {
  const env = { MARDUK_DATA_DIR: "/data/marduk" };

  it("parses status, build and reset with their options", () => {
    expect(parseEngineArgs(["status"], env)).toEqual({ action: "status", dataDir: "/data/marduk", gpu: "auto", json: false });
    expect(parseEngineArgs(["status", "--json", "--data-dir", "/elsewhere"], env)).toEqual({ action: "status", dataDir: "/elsewhere", gpu: "auto", json: true });
    expect(parseEngineArgs(["build", "--gpu", "vulkan"], env)).toMatchObject({ action: "build", gpu: "vulkan" });
    expect(parseEngineArgs(["reset"], env)).toMatchObject({ action: "reset" });
    expect(parseEngineArgs(["--help"], env)).toBe("help");
    expect(parseEngineArgs(["build", "-h"], env)).toBe("help");
  });

  it("refuses what it does not know, as usage errors", () => {
    expect(() => parseEngineArgs([], env)).toThrow(CliUsageError);
    expect(() => parseEngineArgs(["compile"], env)).toThrow(/unknown engine command 'compile'/);
    expect(() => parseEngineArgs(["build", "--gpu", "rocm"], env)).toThrow(/--gpu must be one of auto, cuda, vulkan, metal, cpu/);
    expect(() => parseEngineArgs(["status", "--gpu", "cpu"], env)).toThrow(/only applies to engine build/);
    expect(() => parseEngineArgs(["build", "--json"], env)).toThrow(/only applies to engine status/);
    expect(() => parseEngineArgs(["build", "--threads", "2"], env)).toThrow(CliUsageError);
    expect(() => parseEngineArgs(["status", "build"], env)).toThrow(/expected one of status, build, reset/);
  });

  it("is listed in the main help, and its help says the build is offline and what it needs", () => {
    expect(MAIN_HELP).toMatch(/^\s+engine\s/m);
    expect(ENGINE_HELP).toMatch(/offline/);
    expect(ENGINE_HELP).toMatch(/cmake/);
  });

  it("prints one progress line per update", () => {
    const base = { id: "b", gpu: "cpu" as const, startedAt: 0 };
    expect(formatProgressLine({ ...base, phase: "compiling", step: 120, steps: 277, percent: 42.4, message: "Building CXX object ops.cpp" })).toBe("[ 42%] compiling 120/277 Building CXX object ops.cpp");
    expect(formatProgressLine({ ...base, phase: "cloning", percent: 1, message: "Cloning" })).toBe("[  1%] cloning Cloning");
  });
});
