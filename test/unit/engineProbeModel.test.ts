import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, describe, expect, it } from "vitest";
import { PROBE_MODEL_VOCAB_SIZE, writeProbeModel } from "../../src/core/engine-build/probeModel.js";

describe("the engine check's probe model", () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "marduk-probe-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("is a small, well-formed llama GGUF with Q8_0 weights and its vocabulary", async () => {
    const file = path.join(folder, "probe.gguf");
    await writeProbeModel(file);
    expect(statSync(file).size).toBeLessThan(2_000_000);
    const info = await readGgufFileInfo(file, { logWarnings: false });
    expect(info.metadata.general.architecture).toBe("llama");
    expect(info.metadata.tokenizer.ggml.tokens).toHaveLength(PROBE_MODEL_VOCAB_SIZE);
    const tensors = info.fullTensorInfo ?? [];
    expect(tensors.map((tensor) => tensor.name)).toContain("blk.0.ffn_down.weight");
    // Q8_0 (ggml type 8) matrices: what goes through llama.cpp's quantized kernels.
    expect(tensors.find((tensor) => tensor.name === "blk.0.attn_q.weight")).toMatchObject({ dimensions: [256, 256], ggmlType: 8 });
  });
});
