import { describe, expect, it } from "vitest";
import type { FitEstimate, MachineResources, StarterModelInfo } from "../../src/shared/api/hub.js";
import { describeFitNumbers, describeMemoryNeed } from "../../src/renderer/src/features/models/fitSummary.js";
import { cardMarkdownWithoutImages, resolveCardLink } from "../../src/renderer/src/features/models/modelCardText.js";
import { createModelsStore } from "../../src/renderer/src/features/models/modelsStore.js";
import { starterDownloadLabel, starterRef } from "../../src/renderer/src/features/models/StarterModels.js";
import { createFakeMardukApi, FakeRpcError, settle } from "./rendererFakeApi.js";

const GB = 1e9;
const machine: MachineResources = { ramTotalBytes: 32 * GB, ramFreeBytes: 15.8 * GB, gpu: "cuda", vramTotalBytes: 8 * GB, vramFreeBytes: 6 * GB };

function fit(verdict: FitEstimate["verdict"], cpu: number, gpu: number, overrides: Partial<MachineResources> = {}): FitEstimate {
  return {
    verdict,
    reason: "r",
    headroomFraction: 0.1,
    machine: { ...machine, ...overrides },
    needs: { contextSize: 4096, sequences: 1, totalLayers: 10, cpuOnly: { ramBytes: cpu, vramBytes: 0 }, fullGpu: { ramBytes: 0.1 * GB, vramBytes: gpu } },
  };
}

const starter: StarterModelInfo = { name: "s", title: "S", repo: "o/r", parameters: "1B", kind: "chat", preferredQuant: "Q4_K_M", description: "d" };

describe("the hub browser's words", () => {
  it("shows a fit's numbers, not only its verdict", () => {
    expect(describeFitNumbers(fit("fits in RAM", 1.2 * GB, 1.2 * GB))).toBe("1.20 GB of 15.8 GB RAM free");
    expect(describeFitNumbers(fit("fits on GPU", 1.2 * GB, 1.2 * GB))).toBe("1.20 GB of 6.00 GB VRAM free");
    expect(describeFitNumbers(fit("too large", 9.1 * GB, 9.1 * GB, { ramFreeBytes: 6 * GB }))).toBe("needs 9.10 GB, 6.00 GB RAM free");
    expect(describeFitNumbers(fit("fits on GPU", 1 * GB, 2 * GB, { unifiedMemory: true }))).toBe("2.10 GB of 15.8 GB free");
  });

  it("words a need against the free memory as the load dialog's bars do", () => {
    expect(describeMemoryNeed(714e6, 10 * GB, "RAM", "bar")).toBe("needs 714 MB of 10.0 GB free RAM");
    expect(describeMemoryNeed(3 * GB, 6 * GB, "VRAM", "bar")).toBe("needs 3.00 GB of 6.00 GB free VRAM");
  });

  it("turns a card's images into links and never lets a link navigate the app", () => {
    const text = cardMarkdownWithoutImages('Hi ![a llama](https://x.test/l.png "t") and <img src="https://x.test/b.png" alt="banner"> <IMG src=x>');
    expect(text).toBe("Hi [image: a llama](https://x.test/l.png) and [image: banner] ");
    const page = "https://huggingface.co/o/r";
    expect(resolveCardLink("https://github.com/x", page)).toBe("https://github.com/x");
    expect(resolveCardLink("./LICENSE", page)).toBe("https://huggingface.co/o/r/blob/main/LICENSE");
    expect(resolveCardLink("docs/a.md", page)).toBe("https://huggingface.co/o/r/blob/main/docs/a.md");
    expect(resolveCardLink("javascript:alert(1)", page)).toBeUndefined();
    expect(resolveCardLink("#section", page)).toBeUndefined();
    expect(resolveCardLink(null, page)).toBeUndefined();
  });

  it("labels a starter with its download size, or says it is unknown", () => {
    expect(starterDownloadLabel(starter)).toBe("Q4_K_M · size unknown");
    expect(starterDownloadLabel(starter, { name: "s", error: "offline" })).toBe("Q4_K_M · size unknown");
    expect(starterDownloadLabel(starter, { name: "s", path: "f-Q8_0.gguf", quant: "Q8_0", sizeBytes: 531e6 })).toBe("Q8_0 · 531 MB");
    expect(starterRef(starter)).toBe("hf:o/r:Q4_K_M");
    expect(starterRef(starter, { name: "s", path: "d/f-Q8_0.gguf", sizeBytes: 1 })).toBe("hf:o/r/d/f-Q8_0.gguf");
  });
});

describe("models store: hub extras", () => {
  it("reads the model card with the files, and drops a card of a repository closed meanwhile", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createModelsStore(api);
    fake.modelCards["o/r"] = { repo: "o/r", markdown: "# Card", truncated: false, pageUrl: "https://huggingface.co/o/r" };
    fake.hubFiles["o/r"] = { repo: "o/r", revision: "main", groups: [], projectors: [], fit: {} };
    await store.getState().openRepo("o/r");
    await settle();
    expect(store.getState().hub.card?.markdown).toBe("# Card");
    expect(store.getState().hub.loadingCard).toBe(false);

    const release = fake.hold("models.modelCard");
    const opening = store.getState().openRepo("o/r");
    store.getState().closeRepo();
    release();
    await opening;
    await settle();
    expect(store.getState().hub.card).toBeNull();
  });

  it("loads starter sizes after the starters, and saves and clears the token", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createModelsStore(api);
    fake.starters = [starter];
    fake.starterFiles = [{ name: "s", path: "f.gguf", quant: "Q4_K_M", sizeBytes: 5 }];
    await store.getState().init();
    await settle();
    expect(store.getState().starterFiles.s?.sizeBytes).toBe(5);
    expect(store.getState().hubToken).toEqual({ configured: false, source: "none", stored: false });

    // A repository refused for want of a token is read again once one is saved.
    fake.failNext("models.hubFiles", new FakeRpcError("hub_unauthorized", "gated or private; enter a token"));
    await store.getState().openRepo("o/gated");
    expect(store.getState().hub.filesError).toMatch(/gated/);
    fake.hubFiles["o/gated"] = { repo: "o/gated", revision: "main", groups: [], projectors: [], fit: {} };
    expect(await store.getState().saveHubToken("hf_x")).toBe(true);
    await settle();
    expect(store.getState().hub.filesError).toBeNull();
    expect(store.getState().hub.files?.repo).toBe("o/gated");
    expect(store.getState().hubToken).toEqual({ configured: true, source: "stored", stored: true });
    fake.failNext("models.setHubToken", new FakeRpcError("invalid_argument", "A token has no spaces"));
    expect(await store.getState().saveHubToken("a b")).toBe(false);
    expect(store.getState().hubTokenError).toBe("A token has no spaces");
    expect(await store.getState().clearHubToken()).toBe(true);
    expect(store.getState().hubToken?.configured).toBe(false);
    expect(store.getState().hubTokenError).toBeNull();
    store.getState().dispose();
  });
});
