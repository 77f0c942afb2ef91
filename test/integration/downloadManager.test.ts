import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { DownloadProgress, DownloadState } from "../../src/shared/api/hub.js";
import { AbortedError } from "../../src/core/errors.js";
import { DownloadManager, type DownloadManagerOptions, type DownloadTask } from "../../src/core/models/downloads/DownloadManager.js";
import { DownloadError } from "../../src/core/models/downloads/downloadErrors.js";
import { originSidecarPath, readModelOrigin } from "../../src/core/models/downloads/originSidecar.js";
import { HubClient } from "../../src/core/models/hub/HubClient.js";
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

const sha256 = (filePath: string): string => createHash("sha256").update(readFileSync(filePath)).digest("hex");

/** Every file below a folder, relative, sorted (hidden files included). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Resolves with the first progress snapshot that satisfies `predicate`. */
function waitForProgress(task: DownloadTask, predicate: (progress: DownloadProgress) => boolean): Promise<DownloadProgress> {
  return new Promise((resolve, reject) => {
    const off = task.onProgress((progress) => {
      if (predicate(progress)) {
        off();
        resolve(progress);
      }
    });
    task.done.then(
      () => reject(new Error("the download ended first")),
      (error: unknown) => reject(error as Error),
    );
  });
}

describe("DownloadManager against the fake hub", () => {
  let hub: FakeHub;
  let root: string;
  let modelsDir: string;
  const managers: DownloadManager[] = [];
  const clients: HubClient[] = [];

  const createManager = (options: Partial<DownloadManagerOptions> = {}, hubOptions: { token?: string; endpoint?: string } = {}): DownloadManager => {
    const client = new HubClient({ endpoint: hubOptions.endpoint ?? hub.url, token: hubOptions.token });
    clients.push(client);
    const manager = new DownloadManager({
      modelsDir,
      hub: client,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      progressIntervalMs: 20,
      diskReserveBytes: 0,
      ...options,
    });
    managers.push(manager);
    return manager;
  };

  beforeAll(async () => {
    hub = await startStandardFakeHub();
  });

  afterAll(async () => {
    await hub?.close();
  });

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "marduk-download-"));
    modelsDir = path.join(root, "models");
    hub.setKnobs({});
    hub.clearRequests();
  });

  afterEach(async () => {
    for (const manager of managers.splice(0)) await manager.dispose();
    await hub.idle();
    for (const client of clients.splice(0)) client.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("downloads a quantization, verifies it, records its origin, and skips it the next time", async () => {
    const manager = createManager();
    const task = manager.start(`hf:${TINY_LLAMA_REPO}:q8_0`);
    const states: DownloadState[] = [];
    const received: number[] = [];
    task.onProgress((progress) => {
      if (states.at(-1) !== progress.state) states.push(progress.state);
      received.push(progress.receivedBytes);
    });
    const result = await task.done;
    const info = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_Q8_0);
    const finalPath = path.join(modelsDir, "marduk-test", "tiny-llama-GGUF", TINY_LLAMA_Q8_0);

    expect(result).toMatchObject({ modelId: "marduk-test/tiny-llama-GGUF/tiny-llama-Q8_0", paths: [finalPath], sizeBytes: info.size, alreadyPresent: false });
    expect(sha256(finalPath)).toBe(info.sha256);
    expect(states).toEqual(["queued", "resolving", "downloading", "verifying", "completed"]);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(task.progress()).toMatchObject({ state: "completed", receivedBytes: info.size, totalBytes: info.size });
    // Nothing but the model and its origin sidecar is left.
    expect(tree(modelsDir)).toEqual(["marduk-test/tiny-llama-GGUF/.tiny-llama-Q8_0.gguf.origin.json", "marduk-test/tiny-llama-GGUF/tiny-llama-Q8_0.gguf"]);
    const origin = JSON.parse(readFileSync(originSidecarPath(finalPath), "utf8")) as Record<string, unknown>;
    expect(origin).toEqual({
      source: "hf",
      repo: TINY_LLAMA_REPO,
      revision: hub.commitOf(TINY_LLAMA_REPO),
      file: TINY_LLAMA_Q8_0,
      sha256: info.sha256,
      url: `${hub.url}/${TINY_LLAMA_REPO}/resolve/${hub.commitOf(TINY_LLAMA_REPO)}/${TINY_LLAMA_Q8_0}`,
      downloadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
    });

    hub.clearRequests();
    const again = await manager.pull(`hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_Q8_0}`);
    expect(again.alreadyPresent).toBe(true);
    expect(hub.cdnRequests()).toHaveLength(0);
  });

  it("fetches the parts of a split model as one model", async () => {
    const result = await createManager().pull(`hf:${SPLIT_REPO}/${SPLIT_PARTS[2]}`);
    expect(result.modelId).toBe("marduk-test/split-llama-GGUF/Q8_0/split-llama-Q8_0");
    expect(result.paths.map((file) => path.relative(modelsDir, file))).toEqual(SPLIT_PARTS.map((part) => `${SPLIT_REPO}/${part}`));
    for (const part of SPLIT_PARTS) {
      const filePath = path.join(modelsDir, SPLIT_REPO, part);
      expect(sha256(filePath)).toBe(hub.fileInfo(SPLIT_REPO, part).sha256);
      expect((await readModelOrigin(filePath))?.file).toBe(part);
    }
    expect(result.sizeBytes).toBe(SPLIT_PARTS.reduce((sum, part) => sum + hub.fileInfo(SPLIT_REPO, part).size, 0));
  });

  it("rejects a sha256 mismatch and leaves nothing under the final name", async () => {
    hub.setKnobs({ corrupt: [`${TINY_LLAMA_REPO}/${TINY_LLAMA_Q8_0}`] });
    const error = await createManager().pull(`hf:${TINY_LLAMA_REPO}:Q8_0`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ reason: "checksum_mismatch", code: "download_failed", message: expect.stringMatching(/sha256.*partial file was deleted/) as unknown });
    expect(tree(modelsDir)).toEqual([]);
  });

  it("cancels, keeps the partial file, and resumes it with a Range request", async () => {
    hub.setKnobs({ throttleBytesPerSecond: 2_000_000 });
    const manager = createManager();
    const task = manager.start(`hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`);
    await waitForProgress(task, (progress) => progress.receivedBytes > 1_000_000);
    expect(manager.cancel(task.id)).toBe(true);
    await expect(task.done).rejects.toBeInstanceOf(AbortedError);
    expect(task.state).toBe("cancelled");
    const dir = path.join(modelsDir, "marduk-test", "tiny-llama-GGUF");
    const partial = path.join(dir, `${TINY_LLAMA_F16}.partial`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(1_000_000);
    expect(existsSync(path.join(dir, TINY_LLAMA_F16))).toBe(false);

    hub.setKnobs({});
    await hub.idle();
    hub.clearRequests();
    const result = await manager.pull(`hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`);
    expect(result.resumedFromBytes).toBe(kept);
    const gets = hub.cdnRequests(`${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`).filter((request) => request.method === "GET");
    expect(gets[0]!.range).toBe(`bytes=${kept}-`);
    expect(sha256(result.paths[0]!)).toBe(hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_F16).sha256);
    expect(existsSync(partial)).toBe(false);
  });

  it("deletes the partial file when a cancel asks for it", async () => {
    hub.setKnobs({ throttleBytesPerSecond: 2_000_000 });
    const manager = createManager();
    const task = manager.start(`hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`);
    await waitForProgress(task, (progress) => progress.receivedBytes > 200_000);
    manager.cancel(task.id, { deletePartial: true });
    await expect(task.done).rejects.toBeInstanceOf(AbortedError);
    expect(tree(modelsDir)).toEqual([]);
  });

  it("retries dropped connections and server errors, continuing where each stopped", async () => {
    hub.setKnobs({ failAfterBytes: 1_500_000, failResponses: 2, failStatus: { status: 503, times: 1 } });
    const result = await createManager().pull(`hf:${TINY_LLAMA_REPO}:Q8_0`);
    expect(sha256(result.paths[0]!)).toBe(hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_Q8_0).sha256);
    const gets = hub.cdnRequests().filter((request) => request.method === "GET");
    expect(gets.map((request) => request.status)).toEqual([503, 200, 206, 206]);
    // Each retry continues from what had arrived (at most what the cut response sent).
    const starts = gets.slice(2).map((request) => Number(/^bytes=(\d+)-$/.exec(request.range ?? "")?.[1]));
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[0]).toBeLessThanOrEqual(1_500_000);
    expect(starts[1]).toBeGreaterThan(starts[0]!);
    expect(starts[1]).toBeLessThanOrEqual(starts[0]! + 1_500_000);
  });

  it("starts over when the server ignores Range", async () => {
    const manager = createManager();
    hub.setKnobs({ failAfterBytes: 1_000_000, failResponses: 1, ignoreRange: true });
    const result = await manager.pull(`hf:${TINY_LLAMA_REPO}:Q8_0`);
    expect(sha256(result.paths[0]!)).toBe(hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_Q8_0).sha256);
  });

  it("runs at most `concurrency` downloads at once; the others wait in the queue", async () => {
    hub.setKnobs({ throttleBytesPerSecond: 4_000_000 });
    const manager = createManager({ concurrency: 2 });
    const tasks = [TINY_LLAMA_Q8_0, TINY_LLAMA_F16, TINY_LLAMA_FIXTURE].map((file) => manager.start(`hf:${TINY_LLAMA_REPO}/${file}`));
    await waitForProgress(tasks[0]!, (progress) => progress.state === "downloading");
    await waitForProgress(tasks[1]!, (progress) => progress.state === "downloading");
    expect(tasks[2]!.state).toBe("queued");
    expect(manager.running).toBe(2);
    const results = await Promise.all(tasks.map((task) => task.done));
    expect(results.map((result) => result.alreadyPresent)).toEqual([false, false, false]);
    expect(hub.peakConcurrentDownloads).toBe(2);
    expect(manager.list().map((progress) => progress.state)).toEqual(["completed", "completed", "completed"]);
  });

  it("pulls a starter model by name at the quantization that fits the machine", async () => {
    const starter = {
      name: "tiny-starter",
      title: "Tiny",
      repo: TINY_LLAMA_REPO,
      parameters: "5M",
      kind: "chat" as const,
      preferredQuant: "F16",
      description: "test",
    };
    const machine = (ramFreeBytes: number) => () =>
      Promise.resolve({ ramTotalBytes: ramFreeBytes, ramFreeBytes, gpu: false as const, vramTotalBytes: 0, vramFreeBytes: 0 });
    // Room for F16 plus the context allowance: F16, the preferred quantization.
    const roomy = await createManager({ starters: [starter], machine: machine(8 * 1024 ** 3) }).pull("Tiny-Starter");
    expect(roomy.modelId).toBe("marduk-test/tiny-llama-GGUF/tiny-llama-F16");
    // Room for the Q8_0 file but not the F16 one: it steps down.
    const f16 = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_F16).size;
    const q8 = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_Q8_0).size;
    const tight = (((q8 + f16) / 2) * 1.1 + 512 * 1024 ** 2) / 0.9;
    const small = await createManager({ starters: [starter], machine: machine(tight) }).pull("tiny-starter");
    expect(small.modelId).toBe("marduk-test/tiny-llama-GGUF/tiny-llama-Q8_0");
  });

  it("returns the running download when the same ref is pulled twice", async () => {
    const manager = createManager();
    const first = manager.start(`hf:${TINY_LLAMA_REPO}:Q8_0`);
    expect(manager.start(`hf:${TINY_LLAMA_REPO}:Q8_0`)).toBe(first);
    await first.done;
  });

  it("checks free disk space before fetching anything", async () => {
    const manager = createManager({ freeDiskBytes: () => Promise.resolve(1_000_000) });
    await expect(manager.pull(`hf:${TINY_LLAMA_REPO}:Q8_0`)).rejects.toMatchObject({ reason: "insufficient_disk", code: "insufficient_storage" });
    expect(hub.cdnRequests()).toHaveLength(0);
  });

  it("fails clearly for gated repos without a token and works with one", async () => {
    await expect(createManager().pull(`hf:${GATED_REPO}/${GATED_FILE}`)).rejects.toMatchObject({ reason: "unauthorized", code: "hub_unauthorized", message: /HF_TOKEN/ });
    const result = await createManager({}, { token: FAKE_HUB_TOKEN }).pull(`hf:${GATED_REPO}/${GATED_FILE}`);
    expect(sha256(result.paths[0]!)).toBe(hub.fileInfo(GATED_REPO, GATED_FILE).sha256);
    const resolves = hub.requests.filter((request) => request.path.includes("/resolve/") && request.method === "GET");
    expect(resolves.at(-1)!.authorization).toBe(`Bearer ${FAKE_HUB_TOKEN}`);
  });

  it("downloads a plain URL (http on loopback) without sending the hub token elsewhere", async () => {
    const manager = createManager({}, { endpoint: "https://huggingface.co", token: FAKE_HUB_TOKEN });
    const url = `${hub.url}/${TINY_LLAMA_REPO}/resolve/main/${TINY_LLAMA_FIXTURE}`;
    const result = await manager.pull(url);
    const info = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_FIXTURE);
    expect(result.modelId).toBe("127.0.0.1/marduk-fixture-F32");
    expect(sha256(result.paths[0]!)).toBe(info.sha256);
    expect(await readModelOrigin(result.paths[0]!)).toMatchObject({ source: "url", file: TINY_LLAMA_FIXTURE, sha256: info.sha256, url });
    expect(hub.requests.every((request) => request.authorization === undefined)).toBe(true);
  });

  it("restarts a URL download whose file changed since the partial was written (If-Range)", async () => {
    const repo = "marduk-test/changing";
    // URL downloads must be GGUF files: both versions start with the magic.
    const before = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(3_000_000, 1)]);
    const after = Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(3_000_000, 2)]);
    await hub.addRepo({ id: repo, files: [{ path: "changing.gguf", data: before }] });
    hub.setKnobs({ throttleBytesPerSecond: 2_000_000 });
    const manager = createManager({}, { endpoint: "https://huggingface.co" });
    const url = `${hub.url}/${repo}/resolve/main/changing.gguf`;
    const first = manager.start(url);
    await waitForProgress(first, (progress) => progress.receivedBytes > 500_000);
    first.cancel();
    await expect(first.done).rejects.toBeInstanceOf(AbortedError);

    await hub.addRepo({ id: repo, files: [{ path: "changing.gguf", data: after }] });
    hub.setKnobs({});
    await hub.idle();
    hub.clearRequests();
    const result = await manager.pull(url);
    expect(readFileSync(result.paths[0]!).equals(after)).toBe(true);
    const get = hub.cdnRequests().find((request) => request.method === "GET")!;
    expect(get.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(get.status).toBe(200);
  });

  it("refuses a resumed URL download whose partial file is not a GGUF file, and deletes it", async () => {
    const repo = "marduk-test/not-gguf";
    await hub.addRepo({ id: repo, files: [{ path: "resumed.gguf", data: Buffer.concat([Buffer.from("GGUF"), Buffer.alloc(500_000, 3)]) }] });
    const manager = createManager({}, { endpoint: "https://huggingface.co" });
    const url = `${hub.url}/${repo}/resolve/main/resumed.gguf`;
    // A partial left by an earlier version that did not check the magic: its first bytes are wrong.
    hub.setKnobs({ throttleBytesPerSecond: 1_000_000 });
    const first = manager.start(url);
    await waitForProgress(first, (progress) => progress.receivedBytes > 100_000);
    first.cancel();
    await expect(first.done).rejects.toBeInstanceOf(AbortedError);
    hub.setKnobs({});
    await hub.idle();
    const partial = path.join(modelsDir, "127.0.0.1", "resumed.gguf.partial");
    const bytes = readFileSync(partial);
    bytes.write("HTML", 0, "latin1");
    writeFileSync(partial, bytes);

    const error = await manager.pull(url).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: "not_gguf", code: "download_failed", message: expect.stringContaining("4 unexpected bytes") as unknown });
    expect((error as Error).message).not.toContain("HTML");
    expect(tree(modelsDir)).toEqual([]);
  });

  it("refuses refs it cannot parse before doing anything", () => {
    const manager = createManager();
    expect(() => manager.start("http://example.com/x.gguf")).toThrow(/loopback/);
    expect(() => manager.start("hf:owner/repo/../../etc/passwd.gguf")).toThrow(/not a valid model reference/);
  });
});
