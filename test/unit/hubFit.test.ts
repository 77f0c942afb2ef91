import { describe, expect, it } from "vitest";
import type { HubModelFile, MachineResources, ResourceNeeds } from "../../src/shared/api/hub.js";
import { fitVerdict } from "../../src/core/models/hub/fitEstimate.js";
import { pickQuantization } from "../../src/core/models/hub/pickQuantization.js";
import { findStarterModel, pickStarterFile, STARTER_MODELS } from "../../src/core/models/starterModels.js";
import { parseModelRef } from "../../src/core/models/modelRef.js";

const GiB = 1024 ** 3;

function machine(overrides: Partial<MachineResources> = {}): MachineResources {
  return { ramTotalBytes: 16 * GiB, ramFreeBytes: 8 * GiB, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0, ...overrides };
}

function needs(cpuRam: number, gpuVram: number, gpuRam = 0.2 * GiB): ResourceNeeds {
  return {
    contextSize: 4096,
    sequences: 1,
    totalLayers: 29,
    cpuOnly: { ramBytes: cpuRam, vramBytes: 0 },
    fullGpu: { ramBytes: gpuRam, vramBytes: gpuVram },
  };
}

describe("fitVerdict", () => {
  it("says 'fits on GPU' when every layer and the context fit in free VRAM", () => {
    const estimate = fitVerdict(needs(5 * GiB, 5 * GiB), machine({ gpu: "cuda", vramTotalBytes: 8 * GiB, vramFreeBytes: 7 * GiB }));
    expect(estimate.verdict).toBe("fits on GPU");
    expect(estimate.reason).toMatch(/VRAM/);
  });

  it("falls back to 'fits in RAM' when VRAM is too small, or there is no GPU", () => {
    const small = machine({ gpu: "vulkan", vramTotalBytes: 4 * GiB, vramFreeBytes: 3 * GiB });
    expect(fitVerdict(needs(5 * GiB, 5 * GiB), small).verdict).toBe("fits in RAM");
    expect(fitVerdict(needs(5 * GiB, 5 * GiB), machine()).verdict).toBe("fits in RAM");
  });

  it("says 'too large' beyond free RAM, keeping the headroom in reserve", () => {
    expect(fitVerdict(needs(7.5 * GiB, 0), machine()).verdict).toBe("too large"); // 8 GiB free - 10%
    expect(fitVerdict(needs(7.5 * GiB, 0), machine(), 0).verdict).toBe("fits in RAM");
    expect(fitVerdict(needs(20 * GiB, 20 * GiB), machine({ gpu: "cuda", vramFreeBytes: 24 * GiB })).verdict).toBe("fits on GPU");
  });

  it("counts VRAM and RAM as one pool on unified memory", () => {
    const apple = machine({ gpu: "metal", ramFreeBytes: 10 * GiB, vramTotalBytes: 10 * GiB, vramFreeBytes: 10 * GiB, unifiedMemory: true });
    expect(fitVerdict(needs(6 * GiB, 6 * GiB, 1 * GiB), apple).verdict).toBe("fits on GPU");
    expect(fitVerdict(needs(6 * GiB, 8 * GiB, 1.5 * GiB), apple).verdict).toBe("fits in RAM");
  });
});

function model(quant: string | undefined, sizeGiB: number, extra: Partial<HubModelFile> = {}): HubModelFile {
  const name = `m-${quant ?? "x"}.gguf`;
  const sizeBytes = sizeGiB * GiB;
  return { path: name, name, quant, sizeBytes, parts: [{ path: name, sizeBytes }], complete: true, projector: false, ...extra };
}

describe("pickQuantization", () => {
  const repo = [model("F16", 6), model("Q8_0", 3.2), model("Q6_K", 2.5), model("Q4_K_M", 1.9), model("Q3_K_M", 1.5), model("IQ2_XS", 1)];

  it("picks the preferred quantization when it fits", () => {
    expect(pickQuantization(repo, machine())?.quant).toBe("Q4_K_M");
    expect(pickQuantization(repo, machine(), { preferred: "Q8_0" })?.quant).toBe("Q8_0");
  });

  it("steps down to what fits a small machine, and gives up when nothing does", () => {
    expect(pickQuantization(repo, machine({ ramFreeBytes: 2.5 * GiB }))?.quant).toBe("Q3_K_M");
    expect(pickQuantization(repo, machine({ ramFreeBytes: 1.8 * GiB }))?.quant).toBe("IQ2_XS");
    expect(pickQuantization(repo, machine({ ramFreeBytes: 1 * GiB }))).toBeUndefined();
  });

  it("uses free VRAM when it is larger than free RAM", () => {
    const gpu = machine({ ramFreeBytes: 1 * GiB, gpu: "cuda", vramTotalBytes: 12 * GiB, vramFreeBytes: 10 * GiB });
    expect(pickQuantization(repo, gpu, { preferred: "Q8_0" })?.quant).toBe("Q8_0");
  });

  it("takes the better quantization closest to the preferred one when nothing at or below exists", () => {
    expect(pickQuantization([model("F16", 6), model("Q8_0", 3.2)], machine())?.quant).toBe("Q8_0");
  });

  it("never picks projectors, incomplete split models or unknown quantizations", () => {
    const odd = [model("Q4_K_M", 1, { projector: true }), model("Q4_0", 1, { complete: false }), model(undefined, 0.5)];
    expect(pickQuantization(odd, machine())).toBeUndefined();
  });
});

describe("starter models", () => {
  it("lists the curated small models with valid hub refs and one embedding model", () => {
    const names = STARTER_MODELS.map((starter) => starter.name);
    expect(names).toEqual(expect.arrayContaining(["qwen2.5-0.5b", "qwen2.5-1.5b", "llama3.2-1b", "llama3.2-3b", "gemma3-1b", "smollm2-360m"]));
    expect(STARTER_MODELS.filter((starter) => starter.kind === "embedding")).toHaveLength(1);
    for (const starter of STARTER_MODELS) {
      expect(parseModelRef(`hf:${starter.repo}`)).toMatchObject({ kind: "hf", repo: starter.repo });
      expect(parseModelRef(starter.name, { starterNames: names })).toEqual({ kind: "starter", name: starter.name });
    }
  });

  it("picks a starter's file for the machine", () => {
    const qwen = findStarterModel("QWEN2.5-0.5B")!;
    const files = [model("F16", 1), model("Q8_0", 0.5), model("Q4_K_M", 0.4)];
    expect(pickStarterFile(qwen, files, machine())?.quant).toBe("Q8_0");
    expect(pickStarterFile(qwen, files, machine({ ramFreeBytes: 1.05 * GiB }))?.quant).toBe("Q4_K_M");
  });
});
