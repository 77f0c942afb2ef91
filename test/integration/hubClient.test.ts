import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MachineResources } from "../../src/shared/api/hub.js";
import { HubClient } from "../../src/core/models/hub/HubClient.js";
import { HubError } from "../../src/core/models/hub/hubErrors.js";
import { getBenchModelPath, TINY_BENCH_SHAPE } from "../fixtures/gguf/index.js";
import {
  FAKE_HUB_TOKEN,
  GATED_FILE,
  GATED_REPO,
  SPLIT_PARTS,
  SPLIT_REPO,
  startStandardFakeHub,
  TINY_LLAMA_F16,
  TINY_LLAMA_FIXTURE,
  TINY_LLAMA_Q8_0,
  TINY_LLAMA_REPO,
  type FakeHub,
} from "../fixtures/fakeHub/index.js";

const GiB = 1024 ** 3;
const BIG_REPO = "marduk-test/bigger-llama-GGUF";
const BIG_FILE = "bigger-llama-Q8_0.gguf";

function machine(overrides: Partial<MachineResources> = {}): MachineResources {
  return { ramTotalBytes: 16 * GiB, ramFreeBytes: 8 * GiB, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0, ...overrides };
}

describe("HubClient against the fake hub", () => {
  let hub: FakeHub;
  let client: HubClient;

  beforeAll(async () => {
    hub = await startStandardFakeHub();
    // A model large enough (about 36 MB) that reading its header is clearly not reading the file.
    const bigPath = await getBenchModelPath({ ...TINY_BENCH_SHAPE, nLayer: 40, type: "q8_0" });
    await hub.addRepo({ id: BIG_REPO, files: [{ path: BIG_FILE, filePath: bigPath }] });
    client = new HubClient({ endpoint: hub.url });
  });

  afterAll(async () => {
    client?.dispose();
    await hub?.close();
  });

  it("searches GGUF repos sorted by downloads, likes or last update", async () => {
    const byDownloads = await client.search({ sort: "downloads" });
    expect(byDownloads.map((model) => model.repo)).not.toContain("other-org/safetensors-only");
    expect(byDownloads[0]).toMatchObject({ repo: "other-org/popular-chat-GGUF", author: "other-org", downloads: 9000, gated: false });
    expect((await client.search({ sort: "likes" }))[0]!.repo).toBe("other-org/loved-chat-GGUF");
    const byUpdate = await client.search({ sort: "updated", limit: 2 });
    expect(byUpdate.map((model) => model.repo)).toEqual(["other-org/fresh-chat-GGUF", TINY_LLAMA_REPO]);
    expect(byUpdate[0]!.updatedAt).toBe("2025-06-01T00:00:00.000Z");

    const found = await client.search({ search: "tiny-llama" });
    expect(found.map((model) => model.repo)).toEqual([TINY_LLAMA_REPO]);
    const query = hub.requests.filter((request) => request.path === "/api/models").at(-1)!.query;
    expect(query).toContain("filter=gguf");
    expect(query).toContain("search=tiny-llama");
  });

  it("lists a repo's GGUF files grouped by quantization with sizes and sha256", async () => {
    const listing = await client.listGgufFiles(TINY_LLAMA_REPO);
    expect(listing.commit).toBe(hub.commitOf(TINY_LLAMA_REPO));
    expect(listing.groups.map((group) => group.quant)).toEqual(["F32", "F16", "Q8_0"]);
    const q8 = listing.groups.find((group) => group.quant === "Q8_0")!.files[0]!;
    const info = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_Q8_0);
    expect(q8).toMatchObject({ path: TINY_LLAMA_Q8_0, sizeBytes: info.size, complete: true, projector: false });
    expect(q8.parts).toEqual([{ path: TINY_LLAMA_Q8_0, sizeBytes: info.size, sha256: info.sha256 }]);
    expect(listing.models.map((model) => model.path).sort()).toEqual([TINY_LLAMA_F16, TINY_LLAMA_FIXTURE, TINY_LLAMA_Q8_0].sort());
  });

  it("joins the parts of a split model into one entry with the summed size", async () => {
    const listing = await client.listGgufFiles(SPLIT_REPO);
    expect(listing.models).toHaveLength(1);
    const model = listing.models[0]!;
    const total = SPLIT_PARTS.reduce((sum, part) => sum + hub.fileInfo(SPLIT_REPO, part).size, 0);
    expect(model).toMatchObject({ quant: "Q8_0", name: "split-llama-Q8_0.gguf", sizeBytes: total, complete: true, path: SPLIT_PARTS[0] });
    expect(model.parts.map((part) => part.path)).toEqual(SPLIT_PARTS);
  });

  it("resolves refs to a file, a quantization, or the best fitting quantization", async () => {
    const byQuant = await client.resolveModel({ kind: "hf", repo: TINY_LLAMA_REPO, quant: "Q8_0" });
    expect(byQuant.model.path).toBe(TINY_LLAMA_Q8_0);
    expect(byQuant.revision).toBe(hub.commitOf(TINY_LLAMA_REPO));
    const byPart = await client.resolveModel({ kind: "hf", repo: SPLIT_REPO, file: SPLIT_PARTS[1] });
    expect(byPart.model.parts).toHaveLength(3);
    // Nothing at or below Q4_K_M: the better one closest to it that fits (Q8_0, not F16 or F32).
    const picked = await client.resolveModel({ kind: "hf", repo: TINY_LLAMA_REPO }, { machine: machine() });
    expect(picked.model.quant).toBe("Q8_0");
    await expect(client.resolveModel({ kind: "hf", repo: TINY_LLAMA_REPO, quant: "Q4_K_M" })).rejects.toThrow(/Quantizations: F32, F16, Q8_0/);
    await expect(client.resolveModel({ kind: "hf", repo: TINY_LLAMA_REPO, file: "nope.gguf" })).rejects.toThrow(HubError);
    await expect(client.resolveModel({ kind: "hf", repo: "marduk-test/missing" })).rejects.toMatchObject({ reason: "not_found" });
  });

  it("estimates fit from the remote header alone (Range requests, a fraction of the file)", async () => {
    hub.clearRequests();
    const big = hub.fileInfo(BIG_REPO, BIG_FILE);
    const roomy = await client.estimateFit(BIG_REPO, BIG_FILE, { machine: machine(), contextSize: 1024 });
    const cdn = hub.cdnRequests(`${BIG_REPO}/${BIG_FILE}`);
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.every((request) => request.range?.startsWith("bytes=0-") || /^bytes=\d+-\d+$/.test(request.range ?? ""))).toBe(true);
    const sent = cdn.reduce((sum, request) => sum + request.bytesSent, 0);
    expect(sent).toBeLessThan(big.size / 4);

    expect(roomy.summary).toMatchObject({ architecture: "llama", quantization: "Q8_0", contextLength: 2048, hasChatTemplate: true, parts: 1 });
    expect(roomy.summary.parameterCount).toBeGreaterThan(30_000_000);
    expect(roomy.fit.verdict).toBe("fits in RAM");
    expect(roomy.fit.needs.contextSize).toBe(1024);
    expect(roomy.fit.needs.cpuOnly.ramBytes).toBeGreaterThan(roomy.summary.weightsBytes);

    const tiny = await client.estimateFit(BIG_REPO, BIG_FILE, { machine: machine({ ramFreeBytes: 16 * 1024 ** 2 }) });
    expect(tiny.fit.verdict).toBe("too large");
    const gpu = await client.estimateFit(BIG_REPO, BIG_FILE, { machine: machine({ gpu: "cuda", vramTotalBytes: 8 * GiB, vramFreeBytes: 6 * GiB }) });
    expect(gpu.fit.verdict).toBe("fits on GPU");
    expect(gpu.fit.needs.fullGpu.vramBytes).toBeGreaterThan(0);
  });

  it("needs HF_TOKEN for a gated repo and sends it to the hub's endpoint only", async () => {
    await expect(client.listGgufFiles(GATED_REPO)).rejects.toMatchObject({ reason: "unauthorized", message: /HF_TOKEN/ });
    const env = { HF_ENDPOINT: hub.url, HF_TOKEN: FAKE_HUB_TOKEN };
    const authed = HubClient.fromEnv(env);
    try {
      expect(authed.endpoint).toBe(hub.url);
      expect(authed.authHeaders("https://elsewhere.example/x.gguf")).toEqual({});
      const listing = await authed.listGgufFiles(GATED_REPO);
      expect(listing.models.map((model) => model.path)).toEqual([GATED_FILE]);
      hub.clearRequests();
      const estimate = await authed.estimateFit(GATED_REPO, GATED_FILE, { machine: machine() });
      expect(estimate.fit.verdict).toBe("fits in RAM");
      const resolves = hub.requests.filter((request) => request.path.includes("/resolve/"));
      expect(resolves.length).toBeGreaterThan(0);
      expect(resolves.every((request) => request.authorization === `Bearer ${FAKE_HUB_TOKEN}` && request.status === 302)).toBe(true);
    } finally {
      authed.dispose();
    }
  });
});
