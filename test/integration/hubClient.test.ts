import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MachineResources } from "../../src/shared/api/hub.js";
import { AbortedError } from "../../src/core/errors.js";
import { HubClient } from "../../src/core/models/hub/HubClient.js";
import { HubError } from "../../src/core/models/hub/hubErrors.js";
import { DEFAULT_INITIAL_HEADER_BYTES } from "../../src/core/models/hub/readRemoteGgufHeader.js";
import { getBenchModelPath, getFixtureModelPath, GgmlType, GgufWriter, TINY_BENCH_SHAPE, writeCraftedModel } from "../fixtures/gguf/index.js";
import { listGgufFields } from "../fixtures/gguf/ggufMutator.js";
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
const MiB = 1024 ** 2;
const BIG_REPO = "marduk-test/bigger-llama-GGUF";
const BIG_FILE = "bigger-llama-Q8_0.gguf";
/** A header of about 13 MB (a vocabulary of 1.2M strings) in front of 4 MB of tensor data. */
const LARGE_HEADER_REPO = "marduk-test/large-header-GGUF";
const LARGE_HEADER_FILE = "large-header-F32.gguf";
const LARGE_VOCABULARY = 1_200_000;
/** Crafted headers, an empty file, and a real two-part split model. */
const ODD_REPO = "marduk-test/odd-headers-GGUF";
const CRAFTED_FILES = {
  "huge-dims.gguf": /tensor 11 has 2147483648 dimensions/,
  "huge-array.gguf": /invalid: metadata 'tokenizer\.ggml\.tokens''s length is 1152921504606846976, more than/,
  "long-array.gguf": /truncated: its header needs more than the \d+ bytes the file has \(metadata 'tokenizer\.ggml\.tokens''s length is 1099511627776\)/,
} as const;
const SPLIT_FILES = ["two/parts-00001-of-00002.gguf", "two/parts-00002-of-00002.gguf"];

/** The fixture model with one array's length (the first array: the vocabulary) set to `length`. */
async function withArrayLength(length: bigint): Promise<Buffer> {
  const bytes = Buffer.from(await readFile(await getFixtureModelPath()));
  const field = listGgufFields(bytes).fields.find((candidate) => candidate.kind === "arrayLength")!;
  bytes.writeBigUInt64LE(length, field.offset);
  return bytes;
}

/** A GGUF file written by GgufWriter, as bytes. */
async function written(dir: string, name: string, writer: GgufWriter): Promise<Buffer> {
  const filePath = path.join(dir, name);
  await writer.writeToFile(filePath);
  return readFile(filePath);
}

const sentBytes = (requests: { bytesSent: number }[]): number => requests.reduce((sum, request) => sum + request.bytesSent, 0);

function machine(overrides: Partial<MachineResources> = {}): MachineResources {
  return { ramTotalBytes: 16 * GiB, ramFreeBytes: 8 * GiB, gpu: false, vramTotalBytes: 0, vramFreeBytes: 0, ...overrides };
}

describe("HubClient against the fake hub", () => {
  let hub: FakeHub;
  let client: HubClient;
  let scratch: string;

  beforeAll(async () => {
    hub = await startStandardFakeHub();
    // A model large enough (about 36 MB) that reading its header is clearly not reading the file.
    const bigPath = await getBenchModelPath({ ...TINY_BENCH_SHAPE, nLayer: 40, type: "q8_0" });
    await hub.addRepo({ id: BIG_REPO, files: [{ path: BIG_FILE, filePath: bigPath }] });
    scratch = mkdtempSync(path.join(os.tmpdir(), "marduk-hub-headers-"));
    const large = new GgufWriter()
      .setString("general.architecture", "llama")
      .setStringArray("tokenizer.ggml.tokens", Array.from({ length: LARGE_VOCABULARY }, (_, index) => `t${index % 100}`))
      .addTensor({ name: "token_embd.weight", shape: [1024, 1024], type: GgmlType.F32, data: new Float32Array(1024 * 1024) });
    await hub.addRepo({ id: LARGE_HEADER_REPO, files: [{ path: LARGE_HEADER_FILE, data: await written(scratch, "large.gguf", large) }] });
    const hugeDimsPath = path.join(scratch, "huge-dims.gguf");
    await writeCraftedModel("hugeTensorDims", hugeDimsPath);
    const part = (index: number): GgufWriter =>
      new GgufWriter()
        .setString("general.architecture", "llama")
        .setUint16("split.no", index)
        .setUint16("split.count", 2)
        .addTensor({ name: `part${index}.weight`, shape: [16, 4], type: GgmlType.F32, data: new Float32Array(64) });
    await hub.addRepo({
      id: ODD_REPO,
      files: [
        { path: "huge-dims.gguf", filePath: hugeDimsPath },
        { path: "huge-array.gguf", data: await withArrayLength(2n ** 60n) },
        { path: "long-array.gguf", data: await withArrayLength(2n ** 40n) },
        { path: "empty.gguf", data: Buffer.alloc(0) },
        { path: SPLIT_FILES[0]!, data: await written(scratch, "part1.gguf", part(0)) },
        { path: SPLIT_FILES[1]!, data: await written(scratch, "part2.gguf", part(1)) },
      ],
    });
    client = new HubClient({ endpoint: hub.url });
  });

  afterAll(async () => {
    client?.dispose();
    await hub?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
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
    // Its header fits the first 1 MiB: one Range request, nothing more.
    expect(cdn.map((request) => [request.range, request.status])).toEqual([[`bytes=0-${DEFAULT_INITIAL_HEADER_BYTES - 1}`, 206]]);
    expect(sentBytes(cdn)).toBe(DEFAULT_INITIAL_HEADER_BYTES);
    expect(sentBytes(cdn)).toBeLessThan(big.size / 4);

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

  it("grows the fetched prefix of a large header ×4, asking only for the missing bytes", async () => {
    hub.clearRequests();
    const info = await client.readGgufHeader(LARGE_HEADER_REPO, LARGE_HEADER_FILE);
    expect(info.metadata.tokenizer?.ggml?.tokens).toHaveLength(LARGE_VOCABULARY);
    expect(info.tensorInfo?.map((tensor) => tensor.name)).toEqual(["token_embd.weight"]);
    const cdn = hub.cdnRequests(`${LARGE_HEADER_REPO}/${LARGE_HEADER_FILE}`);
    expect(cdn.map((request) => request.range)).toEqual(["bytes=0-1048575", "bytes=1048576-4194303", "bytes=4194304-16777215"]);
    expect(sentBytes(cdn)).toBe(16 * MiB);
    expect(sentBytes(cdn)).toBeLessThan(hub.fileInfo(LARGE_HEADER_REPO, LARGE_HEADER_FILE).size);
    // Read as node-llama-cpp reads a URL: the source is the hub URL, the header bytes are kept.
    expect(info.source).toEqual({ type: "uri", uri: client.fileUrl(LARGE_HEADER_REPO, "main", LARGE_HEADER_FILE) });
    expect(info.sourceData).toHaveLength(1);
    expect(info.sourceData[0]).toMatchObject({ type: "buffer" });
    expect((info.sourceData[0] as { buffer: Buffer }).buffer.length).toBe(info.infoEndOffset);
  });

  it("refuses a header larger than the cap, having fetched no more than the cap", async () => {
    hub.clearRequests();
    const error = await client.readGgufHeader(LARGE_HEADER_REPO, LARGE_HEADER_FILE, { maxHeaderBytes: 4 * MiB }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ reason: "too_large", message: expect.stringMatching(/needs more than the 4194304 bytes read at most of a remote header/) as unknown });
    expect(sentBytes(hub.cdnRequests(`${LARGE_HEADER_REPO}/${LARGE_HEADER_FILE}`))).toBeLessThanOrEqual(4 * MiB);
  });

  it("rejects crafted headers with the reason, from the first bytes", async () => {
    for (const [file, reason] of Object.entries(CRAFTED_FILES)) {
      hub.clearRequests();
      const error = await client.readGgufHeader(ODD_REPO, file).catch((caught: unknown) => caught);
      expect(error, file).toBeInstanceOf(HubError);
      expect(error, file).toMatchObject({ reason: "no_match", code: "model_not_found", message: expect.stringMatching(reason) as unknown });
      expect((error as Error).message, file).toContain(`The GGUF header of ${ODD_REPO}/${file} cannot be used`);
      const cdn = hub.cdnRequests(`${ODD_REPO}/${file}`);
      expect(cdn, file).toHaveLength(1);
      expect(sentBytes(cdn), file).toBeLessThanOrEqual(DEFAULT_INITIAL_HEADER_BYTES);
    }
    await expect(client.estimateFit(ODD_REPO, "huge-dims.gguf", { machine: machine() })).rejects.toMatchObject({ reason: "no_match" });
  });

  it("reads a header from a CDN that ignores Range, only as far as needed", async () => {
    hub.clearRequests();
    hub.updateKnobs({ ignoreRange: true });
    try {
      const estimate = await client.estimateFit(BIG_REPO, BIG_FILE, { machine: machine(), contextSize: 1024 });
      expect(estimate.summary).toMatchObject({ architecture: "llama", quantization: "Q8_0" });
      const cdn = hub.cdnRequests(`${BIG_REPO}/${BIG_FILE}`);
      expect(cdn.map((request) => request.status)).toEqual([200]);
      // The body was cancelled after the header; what the server had already pushed into the socket counts too.
      const size = hub.fileInfo(BIG_REPO, BIG_FILE).size;
      console.info(`[hub] a Range-ignoring CDN sent ${sentBytes(cdn)} of ${size} bytes for a header read`);
      expect(sentBytes(cdn)).toBeLessThan(size / 2);
    } finally {
      hub.updateKnobs({ ignoreRange: false });
    }
  });

  it("reads the headers of every part of a split model, and says an empty file is not GGUF (HTTP 416)", async () => {
    hub.clearRequests();
    const info = await client.readGgufHeader(ODD_REPO, SPLIT_FILES[1]!);
    expect(info.splicedParts).toBe(2);
    expect(info.fullTensorInfo?.map((tensor) => tensor.name)).toEqual(["part0.weight", "part1.weight"]);
    expect(info.sourceData.map((entry) => entry.type)).toEqual(["buffer", "buffer"]);
    expect(hub.cdnRequests().map((request) => request.file)).toEqual(SPLIT_FILES.map((file) => `${ODD_REPO}/${file}`));

    hub.clearRequests();
    await expect(client.readGgufHeader(ODD_REPO, "empty.gguf")).rejects.toMatchObject({
      reason: "no_match",
      message: `${ODD_REPO}/empty.gguf is not a GGUF file (it has only 0 bytes)`,
    });
    expect(hub.cdnRequests().map((request) => request.status)).toEqual([416]);
  });

  it("removes its temporary files after a read, a failure and an abort", async () => {
    const tempDir = path.join(scratch, "tmp");
    mkdirSync(tempDir);
    await client.readGgufHeader(BIG_REPO, BIG_FILE, { tempDir });
    expect(readdirSync(tempDir)).toEqual([]);
    await expect(client.readGgufHeader(ODD_REPO, "huge-dims.gguf", { tempDir })).rejects.toBeInstanceOf(HubError);
    expect(readdirSync(tempDir)).toEqual([]);

    // Aborted once the CDN has answered, while the body is being read.
    const controller = new AbortController();
    const aborting = new HubClient({
      endpoint: hub.url,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (String(input instanceof Request ? input.url : input).includes("/cdn/")) controller.abort();
        return response;
      },
    });
    try {
      await expect(aborting.readGgufHeader(BIG_REPO, BIG_FILE, { tempDir, signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
      expect(readdirSync(tempDir)).toEqual([]);
    } finally {
      aborting.dispose();
    }
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
