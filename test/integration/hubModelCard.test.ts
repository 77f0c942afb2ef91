/**
 * The hub browser's model cards, fit details and the Hugging Face token, over the contract's
 * WebSocket to a real server whose core talks to the fake hub.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MardukApi } from "../../src/shared/contract/index.js";
import {
  FAKE_HUB_TOKEN,
  GATED_FILE,
  GATED_REPO,
  SPLIT_GGUF_PARTS,
  SPLIT_GGUF_REPO,
  SPLIT_PARTS,
  SPLIT_REPO,
  STARTER_FILE,
  startStandardFakeHub,
  TINY_LLAMA_Q8_0,
  TINY_LLAMA_REPO,
  type FakeHub,
} from "../fixtures/fakeHub/index.js";
import { connectWebSocket, type ContractConnection } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("hub model cards, fit details and the token", () => {
  let hub: FakeHub;
  let server: TestServer;
  let connection: ContractConnection;
  let api: MardukApi;
  const savedEnv = { HF_TOKEN: process.env.HF_TOKEN, HUGGING_FACE_HUB_TOKEN: process.env.HUGGING_FACE_HUB_TOKEN };

  beforeAll(async () => {
    delete process.env.HF_TOKEN;
    delete process.env.HUGGING_FACE_HUB_TOKEN;
    hub = await startStandardFakeHub();
    server = await startTestServer({ withFixture: false, coreOptions: { hub: { endpoint: hub.url } } });
    connection = await connectWebSocket(server.url);
    api = connection.api;
  });
  afterAll(async () => {
    await connection?.close();
    await server?.dispose();
    await hub?.close();
    for (const [name, value] of Object.entries(savedEnv)) if (value !== undefined) process.env[name] = value;
  });

  it("reads a repository's README without its front matter", async () => {
    const card = await api.models.modelCard({ repo: TINY_LLAMA_REPO });
    expect(card).toMatchObject({ repo: TINY_LLAMA_REPO, truncated: false, pageUrl: `${hub.url}/${TINY_LLAMA_REPO}` });
    expect(card.markdown).toMatch(/^# Tiny Llama model card/);
    expect(card.markdown).not.toContain("front-matter-marker");
    // Through the hub's resolve URL and its redirect, as downloads go.
    expect(hub.requests.some((request) => request.path === `/${TINY_LLAMA_REPO}/resolve/main/README.md` && request.status === 302)).toBe(true);
  });

  it("answers null for a repository without a README, and refuses malformed repository names", async () => {
    expect((await api.models.modelCard({ repo: SPLIT_REPO })).markdown).toBeNull();
    await expect(api.models.modelCard({ repo: "../etc" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(api.models.modelCard({ repo: "owner/.." })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(api.models.modelCard({ repo: TINY_LLAMA_REPO, extra: 1 } as never)).rejects.toMatchObject({ code: "invalid_argument" });
  });

  it("shows each file's fit, marks the best one, and judges a split model by all its parts", async () => {
    const files = await api.models.hubFiles({ repo: TINY_LLAMA_REPO });
    expect(files.fit[TINY_LLAMA_Q8_0]?.verdict).toMatch(/^(fits on GPU|fits in RAM|too large)$/);
    expect(files.fit[TINY_LLAMA_Q8_0]?.basis).toBeUndefined();
    // Q8_0 is the best quantization at or below the default preference that fits (F16 and F32 are better than Q4_K_M, so only picked without one).
    expect(files.bestFit).toBe(TINY_LLAMA_Q8_0);

    const split = await api.models.hubFiles({ repo: SPLIT_REPO });
    const fit = split.fit[SPLIT_PARTS[0]!];
    expect(fit).toBeDefined();
    expect(fit!.basis).toBe("file size");
    const total = SPLIT_PARTS.reduce((sum, part) => sum + hub.fileInfo(SPLIT_REPO, part).size, 0);
    // The need counts every part's bytes, not just the first part's.
    expect(fit!.needs.cpuOnly.ramBytes).toBeGreaterThan(total);
    expect(split.bestFit).toBe(SPLIT_PARTS[0]);

    // A gguf-split model: every part's header is read, and the estimate counts all their tensors.
    const parts = await api.models.hubFiles({ repo: SPLIT_GGUF_REPO });
    const headerFit = parts.fit[SPLIT_GGUF_PARTS[0]!];
    expect(headerFit?.basis).toBeUndefined();
    expect(headerFit?.needs.totalLayers).toBe(4);
    const firstPart = hub.fileInfo(SPLIT_GGUF_REPO, SPLIT_GGUF_PARTS[0]!).size;
    expect(headerFit!.needs.cpuOnly.ramBytes).toBeGreaterThan(firstPart * 2);
    expect(parts.bestFit).toBe(SPLIT_GGUF_PARTS[0]);
  });

  it("says a gated repository needs a token, and uses one entered in the app (stored 0600, never returned)", async () => {
    expect(await api.models.hubToken()).toEqual({ configured: false, source: "none", stored: false });
    await expect(api.models.hubFiles({ repo: GATED_REPO })).rejects.toMatchObject({ code: "hub_unauthorized", message: expect.stringMatching(/token/i) });
    await expect(api.models.modelCard({ repo: GATED_REPO })).rejects.toMatchObject({ code: "hub_unauthorized" });

    const saved = await api.models.setHubToken({ token: `  ${FAKE_HUB_TOKEN}\n` });
    expect(saved).toEqual({ configured: true, source: "stored", stored: true });
    expect(JSON.stringify(saved)).not.toContain(FAKE_HUB_TOKEN);
    const tokenFile = path.join(server.tempDir, "hf-token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(FAKE_HUB_TOKEN);

    const files = await api.models.hubFiles({ repo: GATED_REPO });
    expect(files.groups.flatMap((group) => group.files.map((file) => file.path))).toContain(GATED_FILE);
    expect((await api.models.modelCard({ repo: GATED_REPO })).markdown).toBeNull();
    // Downloads use it too.
    const download = await api.downloads.start({ ref: `hf:${GATED_REPO}/${GATED_FILE}` });
    await expect.poll(async () => (await api.downloads.list()).find((entry) => entry.id === download.id)?.state, { timeout: 30_000 }).toBe("completed");

    await expect(api.models.setHubToken({ token: "has space" })).rejects.toMatchObject({ code: "invalid_argument" });
    await expect(api.models.setHubToken({ token: "" })).rejects.toMatchObject({ code: "invalid_argument" });

    expect(await api.models.clearHubToken()).toEqual({ configured: false, source: "none", stored: false });
    expect(() => statSync(tokenFile)).toThrow();
    await expect(api.models.hubFiles({ repo: GATED_REPO })).rejects.toMatchObject({ code: "hub_unauthorized" });
  });

  it("gives each starter's download size from the hub's file list, or says why it is unknown", async () => {
    const files = await api.models.starterFiles();
    const smol = files.find((file) => file.name === "smollm2-360m");
    expect(smol).toMatchObject({ path: STARTER_FILE, quant: "Q8_0", sizeBytes: hub.fileInfo("bartowski/SmolLM2-360M-Instruct-GGUF", STARTER_FILE).size });
    const qwen = files.find((file) => file.name === "qwen2.5-0.5b");
    expect(qwen?.sizeBytes).toBeUndefined();
    expect(qwen?.error).toMatch(/not found/i);
  });
});
