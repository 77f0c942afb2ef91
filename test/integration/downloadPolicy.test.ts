/**
 * What downloads may reach and what they may write: the URL policy on every redirect hop, the
 * hub token's origin, downloads started over RPC, answers that are not GGUF files, file names
 * derived from URLs, and IPv6 loopback. Made-up hosts (`https://models.example`) go through a
 * LoopbackNetwork, so every request stays on this machine.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DownloadsService } from "../../src/core/contract/DownloadsService.js";
import { DownloadManager, type DownloadManagerOptions } from "../../src/core/models/downloads/DownloadManager.js";
import { DownloadError } from "../../src/core/models/downloads/downloadErrors.js";
import { HubClient } from "../../src/core/models/hub/HubClient.js";
import { HubError } from "../../src/core/models/hub/hubErrors.js";
import {
  FAKE_HUB_TOKEN,
  GATED_FILE,
  GATED_REPO,
  LoopbackNetwork,
  startStandardFakeHub,
  TINY_LLAMA_FIXTURE,
  TINY_LLAMA_REPO,
} from "../fixtures/fakeHub/index.js";

/** Bytes that pass for a GGUF file as far as a download is concerned (the magic, then anything). */
const GGUF_BYTES = Buffer.concat([Buffer.from("GGUF", "latin1"), randomBytes(20_000)]);
/** What an internal service might answer; none of it may appear in an error. */
const FOREIGN_ANSWER = Buffer.from("SECRET-INTERNAL-TOKEN=hunter2\n".repeat(100));

interface TestServer {
  /** e.g. http://127.0.0.1:40123 or http://[::1]:40123 */
  url: string;
  /** Request paths (with query), oldest first. */
  requests: string[];
  close(): Promise<void>;
}

/** A small HTTP server on loopback; `handle` answers each request. */
async function startServer(handle: (req: IncomingMessage, res: ServerResponse) => void, host = "127.0.0.1"): Promise<TestServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "/");
    handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Answers `body` (to HEAD with its length only). */
function sendBytes(req: IncomingMessage, res: ServerResponse, body: Buffer, status = 200): void {
  res.writeHead(status, { "content-type": "application/octet-stream", "content-length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location, "content-length": "0" });
  res.end();
}

/** Every file below a folder, relative, sorted (hidden files included). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"))
    .sort();
}

describe("download policy", () => {
  let root: string;
  let modelsDir: string;
  let network: LoopbackNetwork;
  const servers: TestServer[] = [];
  const managers: DownloadManager[] = [];
  const clients: HubClient[] = [];

  const serve = async (handle: (req: IncomingMessage, res: ServerResponse) => void, host?: string): Promise<TestServer> => {
    const server = await startServer(handle, host);
    servers.push(server);
    return server;
  };

  const createManager = (options: Partial<DownloadManagerOptions> = {}, hubOptions: { endpoint?: string; token?: string; fetch?: typeof fetch } = {}): DownloadManager => {
    const hub = new HubClient({ endpoint: hubOptions.endpoint ?? "https://huggingface.co", token: hubOptions.token, fetch: hubOptions.fetch });
    clients.push(hub);
    const manager = new DownloadManager({ modelsDir, hub, retries: 1, retryBaseDelayMs: 10, retryMaxDelayMs: 20, progressIntervalMs: 20, diskReserveBytes: 0, ...options });
    managers.push(manager);
    return manager;
  };

  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "marduk-download-policy-"));
    modelsDir = path.join(root, "models");
    network = new LoopbackNetwork();
  });

  afterEach(async () => {
    for (const manager of managers.splice(0)) await manager.dispose();
    for (const client of clients.splice(0)) client.dispose();
    for (const server of servers.splice(0)) await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe("redirects", () => {
    it("refuses an https URL that redirects to plain http on another host, before any request goes there", async () => {
      const models = await serve((req, res) => redirect(res, "http://plain.example/model.gguf"));
      const plain = await serve((req, res) => sendBytes(req, res, GGUF_BYTES));
      network.route("https://models.example", models.url);
      network.route("http://plain.example", plain.url);

      const error = await createManager({ fetch: network.fetch })
        .pull("https://models.example/files/model.gguf")
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DownloadError);
      expect(error).toMatchObject({ reason: "url_refused", code: "download_failed", message: expect.stringMatching(/redirected to a plain http URL/) as unknown });
      // The redirect target is part of a foreign answer: it is not quoted.
      expect((error as Error).message).not.toContain("plain.example");
      expect(network.requestsTo("http://plain.example")).toEqual([]);
      expect(tree(modelsDir)).toEqual([]);
    });

    it("checks the redirects of the download itself, not only those of the size probe", async () => {
      // HEAD answers directly; only the GET is redirected off the machine.
      const models = await serve((req, res) => (req.method === "HEAD" ? sendBytes(req, res, GGUF_BYTES) : redirect(res, "http://plain.example/model.gguf", 307)));
      const plain = await serve((req, res) => sendBytes(req, res, GGUF_BYTES));
      network.route("https://models.example", models.url);
      network.route("http://plain.example", plain.url);

      await expect(createManager({ fetch: network.fetch }).pull("https://models.example/model.gguf")).rejects.toMatchObject({
        reason: "url_refused",
        code: "download_failed",
      });
      expect(network.requestsTo("http://plain.example")).toEqual([]);
      expect(tree(modelsDir).filter((file) => file.endsWith(".gguf") || file.endsWith(".partial"))).toEqual([]);
    });

    it("follows redirects to https elsewhere and to plain http on this machine", async () => {
      const models = await serve((req, res) => redirect(res, "https://cdn.example/blob/abc"));
      const cdn = await serve((req, res) => sendBytes(req, res, GGUF_BYTES));
      network.route("https://models.example", models.url);
      network.route("https://cdn.example", cdn.url);
      const viaHttps = await createManager({ fetch: network.fetch }).pull("https://models.example/remote.gguf");
      expect(path.relative(modelsDir, viaHttps.paths[0]!)).toBe(path.join("models.example", "remote.gguf"));
      expect(readFileSync(viaHttps.paths[0]!).equals(GGUF_BYTES)).toBe(true);

      const local = await serve((req, res) => (req.url === "/start.gguf" ? redirect(res, "/moved/blob") : sendBytes(req, res, GGUF_BYTES)));
      const viaLoopback = await createManager().pull(`${local.url}/start.gguf`);
      expect(readFileSync(viaLoopback.paths[0]!).equals(GGUF_BYTES)).toBe(true);
      expect(local.requests).toContain("/moved/blob");
    });

    it("gives up after 10 redirects", async () => {
      const looping = await serve((req, res) => {
        const hop = Number(/\/hop\/(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
        redirect(res, `/hop/${hop + 1}/x.gguf`);
      });
      const error = await createManager()
        .pull(`${looping.url}/hop/0/x.gguf`)
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ reason: "too_many_redirects", code: "download_failed", message: expect.stringMatching(/more than 10 times/) as unknown });
      // The first request and 10 redirects, then it stopped (the size probe already failed).
      expect(looping.requests).toHaveLength(11);
    });

    it("refuses a redirect to another scheme", async () => {
      const local = await serve((req, res) => redirect(res, "file:///etc/passwd"));
      await expect(createManager().pull(`${local.url}/x.gguf`)).rejects.toMatchObject({
        reason: "url_refused",
        message: expect.stringMatching(/neither https nor http/) as unknown,
      });
    });

    it("sends the hub token to the hub's origin only, also when its CDN is another origin", async () => {
      const hub = await startStandardFakeHub({ cdnBaseUrl: "https://cdn.example" });
      try {
        network.route("https://hub.example", hub.url);
        network.route("https://cdn.example", hub.url);
        const manager = createManager({ fetch: network.fetch }, { endpoint: "https://hub.example", token: FAKE_HUB_TOKEN, fetch: network.fetch });
        const result = await manager.pull(`hf:${GATED_REPO}/${GATED_FILE}`);
        expect(readFileSync(result.paths[0]!).equals(hub.fileInfo(GATED_REPO, GATED_FILE).data)).toBe(true);

        const toHub = network.requestsTo("https://hub.example");
        const toCdn = network.requestsTo("https://cdn.example");
        expect(toHub.length).toBeGreaterThan(0);
        expect(toHub.every((request) => request.authorization === `Bearer ${FAKE_HUB_TOKEN}`)).toBe(true);
        expect(toCdn.length).toBeGreaterThan(0);
        expect(toCdn.map((request) => request.authorization)).toEqual(toCdn.map(() => undefined));
      } finally {
        await hub.close();
      }
    });

    it("refuses a hub whose CDN redirect goes to plain http off this machine", async () => {
      const hub = await startStandardFakeHub({ cdnBaseUrl: "http://cdn.example" });
      try {
        network.route("https://hub.example", hub.url);
        network.route("http://cdn.example", hub.url);
        const manager = createManager({ fetch: network.fetch }, { endpoint: "https://hub.example", token: FAKE_HUB_TOKEN, fetch: network.fetch });
        await expect(manager.pull(`hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_FIXTURE}`)).rejects.toMatchObject({ reason: "url_refused", code: "download_failed" });
        expect(network.requestsTo("http://cdn.example")).toEqual([]);
        expect(tree(modelsDir).filter((file) => file.endsWith(".gguf"))).toEqual([]);
      } finally {
        await hub.close();
      }
    });
  });

  describe("remote GGUF header reads", () => {
    it("follow the policy: the token only to the hub, an https CDN elsewhere is fine, plain http off this machine is refused", async () => {
      const hub = await startStandardFakeHub({ cdnBaseUrl: "https://cdn.example" });
      try {
        network.route("https://hub.example", hub.url);
        network.route("https://cdn.example", hub.url);
        network.route("http://cdn.example", hub.url);
        const client = new HubClient({ endpoint: "https://hub.example", token: FAKE_HUB_TOKEN, fetch: network.fetch });
        clients.push(client);
        const info = await client.readGgufHeader(GATED_REPO, GATED_FILE);
        expect(info.metadata.general.architecture).toBe("llama");
        const toHub = network.requestsTo("https://hub.example");
        const toCdn = network.requestsTo("https://cdn.example");
        expect(toHub.length).toBeGreaterThan(0);
        expect(toHub.every((request) => request.authorization === `Bearer ${FAKE_HUB_TOKEN}` && request.range === "bytes=0-1048575")).toBe(true);
        expect(toCdn.length).toBeGreaterThan(0);
        expect(toCdn.map((request) => request.authorization)).toEqual(toCdn.map(() => undefined));

        hub.updateKnobs({ cdnBaseUrl: "http://cdn.example" });
        for (const read of [() => client.readGgufHeader(GATED_REPO, GATED_FILE), () => client.estimateFit(TINY_LLAMA_REPO, TINY_LLAMA_FIXTURE)]) {
          const error = await read().catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(HubError);
          expect(error).toMatchObject({ reason: "network", message: expect.stringMatching(/was redirected to a plain http URL on a host that is not this machine; refused/) as unknown });
          expect((error as Error).cause).toMatchObject({ reason: "url_refused", code: "download_failed" });
          expect((error as Error).message).not.toContain("cdn.example");
        }
        expect(network.requestsTo("http://cdn.example")).toEqual([]);
      } finally {
        await hub.close();
      }
    });
  });

  describe("downloads started over RPC", () => {
    it("accept hub refs and https URLs only, plain http only to loopback", async () => {
      const service = new DownloadsService(createManager({ fetch: network.fetch }));
      for (const ref of [
        "file:///etc/passwd",
        "/etc/passwd",
        "ftp://files.example/x.gguf",
        "gopher://files.example/x.gguf",
        "http://10.0.0.1/x.gguf",
        "http://169.254.169.254/latest/x.gguf",
        "http://[fe80::1]/x.gguf",
        "http://files.example/x.gguf",
      ]) {
        await expect(service.start({ ref }), ref).rejects.toMatchObject({ code: "invalid_argument" });
      }
      expect(network.requests).toEqual([]);
    });

    it("fail with download_failed when a redirect leaves the policy", async () => {
      const models = await serve((req, res) => redirect(res, "http://plain.example/model.gguf"));
      const plain = await serve((req, res) => sendBytes(req, res, GGUF_BYTES));
      network.route("https://models.example", models.url);
      network.route("http://plain.example", plain.url);
      const manager = createManager({ fetch: network.fetch });
      const started = await new DownloadsService(manager).start({ ref: "https://models.example/model.gguf" });
      await expect(manager.get(started.id)!.done).rejects.toMatchObject({ reason: "url_refused", code: "download_failed" });
      expect(manager.get(started.id)!.progress()).toMatchObject({ state: "failed", error: expect.stringMatching(/refused/) as unknown });
      expect(network.requestsTo("http://plain.example")).toEqual([]);
    });

    it("never echo the bytes of an answer that is not a GGUF file, and keep none of it", async () => {
      const internal = await serve((req, res) => {
        if (req.url === "/short.gguf") sendBytes(req, res, Buffer.from("OK"));
        else if (req.url === "/missing.gguf") sendBytes(req, res, FOREIGN_ANSWER, 404);
        else sendBytes(req, res, FOREIGN_ANSWER);
      });
      const manager = createManager();
      const service = new DownloadsService(manager);
      const finish = async (ref: string): Promise<{ error: unknown; events: string }> => {
        const seen: unknown[] = [];
        const off = service.onProgress((progress) => seen.push(progress));
        const started = await service.start({ ref });
        const error = await manager.get(started.id)!.done.catch((caught: unknown) => caught);
        off();
        return { error, events: JSON.stringify([...seen, ...(await service.list())]) };
      };

      const secret = await finish(`${internal.url}/secret.gguf`);
      expect(secret.error).toMatchObject({
        reason: "not_gguf",
        code: "download_failed",
        message: expect.stringContaining("is not a GGUF file (it starts with 4 unexpected bytes)") as unknown,
      });
      const short = await finish(`${internal.url}/short.gguf`);
      expect(short.error).toMatchObject({ reason: "not_gguf", message: expect.stringContaining("(it has only 2 bytes)") as unknown });
      const missing = await finish(`${internal.url}/missing.gguf`);
      expect(missing.error).toMatchObject({ code: "model_not_found" });

      for (const { error, events } of [secret, short, missing]) {
        for (const text of [(error as Error).message, events]) {
          expect(text).not.toContain("SECR");
          expect(text).not.toContain("hunter2");
          expect(text).not.toMatch(/"OK"|\bOK\b/);
        }
      }
      // No model file, no partial file: nothing of the answers is on disk.
      expect(tree(modelsDir).filter((file) => file.endsWith(".gguf") || file.endsWith(".partial"))).toEqual([]);
      for (const file of tree(modelsDir)) expect(readFileSync(path.join(modelsDir, file), "latin1")).not.toContain("SECR");
    });
  });

  describe("hub errors", () => {
    it("do not quote an answer that is not JSON, nor the bytes of a file that is not GGUF", async () => {
      const notJson = await serve((req, res) => sendBytes(req, res, FOREIGN_ANSWER));
      const confused = new HubClient({ endpoint: notJson.url });
      clients.push(confused);
      const searchError = await confused.search({ search: "x" }).catch((caught: unknown) => caught);
      expect(searchError).toMatchObject({ code: "hub_unavailable", message: expect.stringContaining("not the JSON") as unknown });
      expect((searchError as Error).message).not.toContain("SECR");

      const hub = await startStandardFakeHub();
      try {
        await hub.addRepo({ id: "marduk-test/not-gguf", files: [{ path: "secret.gguf", data: FOREIGN_ANSWER }] });
        const client = new HubClient({ endpoint: hub.url });
        clients.push(client);
        const headerError = await client.readGgufHeader("marduk-test/not-gguf", "secret.gguf").catch((caught: unknown) => caught);
        expect(headerError).toMatchObject({ message: expect.stringContaining("is not a GGUF file (it starts with 4 unexpected bytes)") as unknown });
        expect((headerError as Error).message).not.toContain("SECR");
      } finally {
        await hub.close();
      }
    });
  });

  describe("file names from URLs", () => {
    it("saves encoded dot names, dotfiles and encoded slashes as visible files in the host's folder", async () => {
      const files = await serve((req, res) => sendBytes(req, res, GGUF_BYTES));
      const manager = createManager();
      const landed: Record<string, string> = {};
      for (const name of ["%2e%2e.gguf", ".hidden.gguf", "%2Enamed.gguf", "sub%2Fname.gguf", "tab%09name.gguf"]) {
        const result = await manager.pull(`${files.url}/files/${name}`);
        landed[name] = path.relative(modelsDir, result.paths[0]!).split(path.sep).join("/");
      }
      expect(landed).toEqual({
        "%2e%2e.gguf": "127.0.0.1/model.gguf",
        ".hidden.gguf": "127.0.0.1/hidden.gguf",
        "%2Enamed.gguf": "127.0.0.1/named.gguf",
        "sub%2Fname.gguf": "127.0.0.1/sub_name.gguf",
        "tab%09name.gguf": "127.0.0.1/tab_name.gguf",
      });
      // Only the sidecars are hidden.
      expect(tree(modelsDir).filter((file) => !/\/\.[^/]+\.origin\.json$/.test(file))).toEqual(Object.values(landed).sort());
    });
  });

  describe("file names from hub paths", () => {
    it("saves repository files whose path has dot-led segments as visible files", async () => {
      const hub = await startStandardFakeHub();
      try {
        const repo = "marduk-test/dots-GGUF";
        const files = ["sub/.hidden.gguf", ".cache/x.gguf", "...gguf"];
        await hub.addRepo({ id: repo, files: files.map((file) => ({ path: file, data: GGUF_BYTES })) });
        const manager = createManager({}, { endpoint: hub.url });
        const landed: Record<string, string> = {};
        for (const file of files) {
          const result = await manager.pull(`hf:${repo}/${file}`);
          landed[file] = path.relative(modelsDir, result.paths[0]!).split(path.sep).join("/");
          expect(readFileSync(result.paths[0]!).equals(GGUF_BYTES)).toBe(true);
        }
        expect(landed).toEqual({
          "sub/.hidden.gguf": `${repo}/sub/hidden.gguf`,
          ".cache/x.gguf": `${repo}/cache/x.gguf`,
          "...gguf": `${repo}/model.gguf`,
        });
        // Only the sidecars are hidden.
        expect(tree(modelsDir).filter((file) => !/\/\.[^/]+\.origin\.json$/.test(file))).toEqual(Object.values(landed).sort());
      } finally {
        await hub.close();
      }
    });
  });

  describe("IPv6 loopback", () => {
    let ipv6: TestServer | undefined;
    let noIpv6Reason = "";

    beforeAll(async () => {
      try {
        ipv6 = await startServer((req, res) => (req.url === "/moved.gguf" ? redirect(res, "/v6.gguf") : sendBytes(req, res, GGUF_BYTES)), "::1");
      } catch (error) {
        noIpv6Reason = `this machine has no IPv6 loopback (listening on ::1 failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
      }
    });

    afterAll(async () => {
      await ipv6?.close();
    });

    it("pulls from http://[::1]:port into a folder every file system accepts", async (context) => {
      context.skip(ipv6 === undefined, noIpv6Reason);
      const manager = createManager();
      const result = await manager.pull(`${ipv6!.url}/v6.gguf`);
      expect(path.relative(modelsDir, result.paths[0]!).split(path.sep).join("/")).toBe("ipv6-0-0-0-0-0-0-0-1/v6.gguf");
      expect(result.modelId).toBe("ipv6-0-0-0-0-0-0-0-1/v6");
      expect(readFileSync(result.paths[0]!).equals(GGUF_BYTES)).toBe(true);
      // A redirect within [::1] is loopback too.
      const moved = await manager.pull(`${ipv6!.url}/moved.gguf`);
      expect(readFileSync(moved.paths[0]!).equals(GGUF_BYTES)).toBe(true);
    });
  });
});
