import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import { registerRpcWebSocket, type RpcWebSocketOptions } from "../../src/core/api/registerRpcWebSocket.js";
import { registerSecurity } from "../../src/core/api/security/registerSecurity.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { rawRequest } from "../helpers/rawHttp.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";
import { connectWebSocket, openRpcSocket } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("the RPC WebSocket's guards", () => {
  const key = "sk-guard-key";
  let server: TestServer;
  let host: string;
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false, apiKeys: [key], ui: false, corsOrigins: ["https://app.example.com"] });
    host = new URL(server.url).host;
  });
  afterAll(() => server?.dispose());

  it("refuses a missing or wrong key with 401", async () => {
    expect(await openRpcSocket(server.url)).toMatchObject({ status: 401 });
    expect(await openRpcSocket(server.url, { keyQuery: "wrong" })).toMatchObject({ status: 401 });
    expect(await openRpcSocket(server.url, { keyProtocol: "wrong" })).toMatchObject({ status: 401 });
  });

  it("accepts the key as ?key=, as a sub-protocol, or as a header; selects only the RPC protocol", async () => {
    for (const options of [{ keyQuery: key }, { keyProtocol: key }, { headers: { authorization: `Bearer ${key}` } }]) {
      const outcome = await openRpcSocket(server.url, options);
      expect(outcome).toHaveProperty("socket");
      if (!("socket" in outcome)) continue;
      // The key's sub-protocol is never echoed back.
      expect(outcome.socket.protocol).toBe("marduk-rpc");
      outcome.socket.close();
    }
  });

  it("refuses a wrong Origin or Host with 403, before the key is even looked at", async () => {
    expect(await openRpcSocket(server.url, { keyQuery: key, headers: { origin: "https://evil.example.com" } })).toMatchObject({ status: 403 });
    expect(await openRpcSocket(server.url, { keyQuery: key, headers: { origin: "null" } })).toMatchObject({ status: 403 });
    expect(await openRpcSocket(server.url, { keyQuery: key, headers: { host: "evil.example.com" } })).toMatchObject({ status: 403 });
    expect(await openRpcSocket(server.url, { headers: { host: `attacker.test:${new URL(server.url).port}` } })).toMatchObject({ status: 403 });
    // An origin listed for CORS may call the API, but not control the app.
    expect(await openRpcSocket(server.url, { keyQuery: key, headers: { origin: "https://app.example.com" } })).toMatchObject({ status: 403 });
    expect((await rawRequest(`${server.url}/v1/models`, { headers: { origin: "https://app.example.com", authorization: `Bearer ${key}` } })).status).toBe(200);
    // The page the server serves itself (same origin) may connect.
    const sameOrigin = await openRpcSocket(server.url, { keyQuery: key, headers: { origin: `http://${host}` } });
    expect(sameOrigin).toHaveProperty("socket");
    if ("socket" in sameOrigin) sameOrigin.socket.close();
  });

  it("accepts keys created through the contract, until they are revoked", async () => {
    const admin = await connectWebSocket(server.url, { keyProtocol: key });
    try {
      const created = await admin.api.server.createKey({ name: "browser", scope: "admin" });
      const withCreated = await openRpcSocket(server.url, { keyQuery: created.key });
      expect(withCreated).toHaveProperty("socket");
      if ("socket" in withCreated) withCreated.socket.close();
      await admin.api.server.revokeKey({ id: created.info.id });
      expect(await openRpcSocket(server.url, { keyQuery: created.key })).toMatchObject({ status: 401 });
    } finally {
      await admin.close();
    }
  });

  it("closes a connection that sends too large a message, or one that is not JSON", async () => {
    const big = await openRpcSocket(server.url, { keyQuery: key });
    if (!("socket" in big)) throw new Error("refused");
    const bigClosed = new Promise<number>((resolve) => big.socket.once("close", (code) => resolve(code)));
    big.socket.send(JSON.stringify({ type: "call", id: 1, method: "conversations.list", params: { padding: "x".repeat(5 * 1024 * 1024) } }));
    expect(await bigClosed).toBe(1009);

    const junk = await openRpcSocket(server.url, { keyQuery: key });
    if (!("socket" in junk)) throw new Error("refused");
    const junkClosed = new Promise<number>((resolve) => junk.socket.once("close", (code) => resolve(code)));
    junk.socket.send("{not json");
    expect(await junkClosed).toBe(1007);
  });

  it("answers calls outside the contract with an error, and keeps serving", async () => {
    const opened = await openRpcSocket(server.url, { keyQuery: key });
    if (!("socket" in opened)) throw new Error("refused");
    const socket: WebSocket = opened.socket;
    const replies: unknown[] = [];
    const got = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (replies.length >= count ? resolve() : setTimeout(check, 10));
        check();
      });
    socket.on("message", (data) => replies.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: "call", id: 1, method: "conversations.constructor", params: {} }));
    socket.send(JSON.stringify({ type: "call", id: 2, method: "access.verifyKey", params: key }));
    socket.send(JSON.stringify({ type: "call", id: 3, method: "conversations.list" }));
    await got(3);
    expect(replies).toEqual([
      { type: "error", id: 1, error: expect.objectContaining({ code: "invalid_argument" }) },
      { type: "error", id: 2, error: expect.objectContaining({ code: "invalid_argument" }) },
      { type: "result", id: 3, result: [] },
    ]);
    socket.close();
  });
});

/** Resolves with the close code of `socket`, or "open" when it is still open after `waitMs`. */
function closeCodeWithin(socket: WebSocket, waitMs: number): Promise<number | "open"> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("open"), waitMs);
    socket.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function openSocket(url: string, options: Parameters<typeof openRpcSocket>[1] = {}): Promise<WebSocket> {
  const outcome = await openRpcSocket(url, options);
  if (!("socket" in outcome)) throw new Error(`refused: ${outcome.status} ${outcome.body}`);
  return outcome.socket;
}

describe("the RPC connection limit", () => {
  const key = "sk-limit-key";
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false, apiKeys: [key], ui: false });
  });
  afterAll(() => server?.dispose());

  it("lets the UI connect when 32 idle sockets hold every place: the quietest one makes room", async () => {
    const idle: WebSocket[] = [];
    for (let index = 0; index < 32; index++) idle.push(await openSocket(server.url, { keyProtocol: key }));
    const oldestClosed = closeCodeWithin(idle[0]!, 2_000);
    const ui = await connectWebSocket(server.url, { keyProtocol: key });
    try {
      await expect(ui.api.conversations.list()).resolves.toEqual([]);
      expect(await oldestClosed).toBe(1013);
      expect(idle.slice(1).every((socket) => socket.readyState === socket.OPEN)).toBe(true);
    } finally {
      await ui.close();
      for (const socket of idle) socket.close();
    }
  });
});

describe("the RPC socket's idle timeout and replacement order", () => {
  const keys = ["sk-client-one", "sk-client-two"];
  let core: TestCore;
  let apps: FastifyInstance[];
  let urls: { idle: string; small: string };
  beforeAll(async () => {
    core = createTestCore();
    const start = async (options: Partial<RpcWebSocketOptions>) => {
      const app = Fastify();
      await registerRpcWebSocket(app, { api: core.core.contract, logger: createSilentLogger(), ...options });
      registerSecurity(app, { apiKeys: keys });
      return { app, url: await app.listen({ host: "127.0.0.1", port: 0 }) };
    };
    const idle = await start({ idleTimeoutMs: 300 });
    const small = await start({ maxConnections: 3 });
    apps = [idle.app, small.app];
    urls = { idle: idle.url, small: small.url };
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await core?.dispose();
  });

  it("closes sockets that send nothing and hold no subscription; keeps the ones in use", async () => {
    const unused = await openSocket(urls.idle, { keyProtocol: keys[0] });
    const subscribed = await openSocket(urls.idle, { keyProtocol: keys[0] });
    subscribed.send(JSON.stringify({ type: "subscribe", id: 1, event: "server.onStatus" }));
    const [unusedCode, subscribedCode] = await Promise.all([closeCodeWithin(unused, 3_000), closeCodeWithin(subscribed, 1_500)]);
    expect(unusedCode).toBe(4408);
    expect(subscribedCode).toBe("open");
    subscribed.close();
  });

  it("replaces a socket of the client that holds the most, idle before busy, quietest first", async () => {
    const [one, two] = keys;
    const busy = await connectWebSocket(urls.small, { keyProtocol: one });
    const stop = busy.api.server.onStatus(() => undefined);
    await busy.api.server.status();
    const oneIdle = await openSocket(urls.small, { keyProtocol: one });
    const twoFirst = await openSocket(urls.small, { keyProtocol: two });
    // Full: client one holds two sockets, so its idle one makes room.
    const twoSecond = await openSocket(urls.small, { keyProtocol: two });
    expect(await closeCodeWithin(oneIdle, 2_000)).toBe(1013);
    // Now client two holds two: its quietest (oldest) one goes.
    const twoThird = await openSocket(urls.small, { keyProtocol: two });
    expect(await closeCodeWithin(twoFirst, 2_000)).toBe(1013);
    expect([await closeCodeWithin(twoSecond, 200), await closeCodeWithin(twoThird, 200)]).toEqual(["open", "open"]);
    await expect(busy.api.conversations.list()).resolves.toEqual([]);
    stop();
    await busy.close();
    twoSecond.close();
    twoThird.close();
  });
});

describe("the UI served at /", () => {
  let uiDir: string;
  let server: TestServer;
  beforeAll(async () => {
    uiDir = mkdtempSync(path.join(os.tmpdir(), "marduk-ui-"));
    mkdirSync(path.join(uiDir, "assets"));
    writeFileSync(path.join(uiDir, "index.html"), "<!doctype html><title>Marduk Local</title><script type=module src=/assets/app-1234.js></script>");
    writeFileSync(path.join(uiDir, "assets", "app-1234.js"), "console.log('ui');");
    writeFileSync(path.join(uiDir, ".env"), "SECRET=1");
    server = await startTestServer({ withFixture: false, apiKeys: ["sk-ui"], ui: { dir: uiDir } });
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(uiDir, { recursive: true, force: true });
  });

  it("serves index.html at / and for client-side routes, with a strict CSP, without a key", async () => {
    for (const route of ["/", "/chat/123", "/models?tab=hub"]) {
      const response = await rawRequest(`${server.url}${route}`);
      expect(response.status, route).toBe(200);
      expect(response.headers["content-type"]).toMatch(/^text\/html/);
      expect(response.body).toContain("<title>Marduk Local</title>");
      const csp = response.headers["content-security-policy"]!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(server.url).host}`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
    }
  });

  it("serves hashed assets with long caching, and 404s for missing files, dot files and traversal", async () => {
    const asset = await rawRequest(`${server.url}/assets/app-1234.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers["content-type"]).toMatch(/javascript/);
    expect(asset.headers["cache-control"]).toContain("immutable");
    expect((await rawRequest(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect((await rawRequest(`${server.url}/.env`)).status).toBe(404);
    for (const attempt of ["/../package.json", "/assets/../../package.json", "/%2e%2e/package.json", "/assets%2f..%2f..%2fpackage.json"]) {
      const response = await rawRequest(`${server.url}${attempt}`);
      expect(response.body, attempt).not.toContain("marduk-local");
    }
  });

  it("leaves the API's routes, 404s and key checks alone", async () => {
    expect((await rawRequest(`${server.url}/v1/models`)).status).toBe(401);
    expect((await rawRequest(`${server.url}/v1/nothing`)).status).toBe(401);
    const unknown = await rawRequest(`${server.url}/v1/nothing`, { headers: { authorization: "Bearer sk-ui" } });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: { code: "not_found" } });
    expect((await rawRequest(`${server.url}/health`)).status).toBe(200);
    // The Host check applies to the UI too (DNS rebinding).
    expect((await rawRequest(`${server.url}/`, { headers: { host: "evil.example.com" } })).status).toBe(403);
  });

  it("says how to build the UI when it is not built", async () => {
    const bare = await startTestServer({ withFixture: false, ui: { dir: path.join(uiDir, "missing") } });
    try {
      const response = await rawRequest(`${bare.url}/`);
      expect(response.status).toBe(503);
      expect(response.headers["content-type"]).toMatch(/^text\/plain/);
      expect(response.body).toContain("npx electron-vite build");
    } finally {
      await bare.dispose();
    }
  });
});
