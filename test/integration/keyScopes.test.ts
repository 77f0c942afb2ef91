/**
 * API key scopes over a real server: `inference` keys use the HTTP API only, `admin` keys also
 * the app's contract over `/rpc`; operator keys (`--api-key`) are admin, `--local-only-key` keys
 * inference. Revoking a key ends the app sessions opened with it at once. `/health` shows its
 * details only to key holders while keys are required.
 */
import type WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../helpers/rawHttp.js";
import { connectWebSocket, openRpcSocket, type ContractConnection } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/** Resolves with the close code of `socket`, or rejects after `timeoutMs`. */
function closeCodeOf(socket: WebSocket, timeoutMs = 5_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the socket stayed open")), timeoutMs);
    socket.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Opens the RPC socket with `key`, or throws with the HTTP answer. */
async function openSocket(url: string, key: string): Promise<WebSocket> {
  const outcome = await openRpcSocket(url, { keyProtocol: key });
  if (!("socket" in outcome)) throw new Error(`refused: ${outcome.status} ${outcome.body}`);
  return outcome.socket;
}

describe("API key scopes", () => {
  const operatorKey = "sk-operator-key";
  const localOnlyKey = "sk-local-only-key";
  let server: TestServer;
  let operator: ContractConnection;
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false, ui: false, apiKeys: [operatorKey], localOnlyApiKeys: [localOnlyKey] });
    operator = await connectWebSocket(server.url, { keyProtocol: operatorKey });
  });
  afterAll(async () => {
    await operator?.close();
    await server?.dispose();
  });

  const models = (key: string) => rawRequest(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });

  it("gives operator keys (--api-key) the app, and --local-only-key keys only the HTTP API", async () => {
    expect((await models(operatorKey)).status).toBe(200);
    expect((await models(localOnlyKey)).status).toBe(200);
    expect((await rawRequest(`${server.url}/api/tags`, { headers: { "x-api-key": localOnlyKey } })).status).toBe(200);
    const refused = await openRpcSocket(server.url, { keyProtocol: localOnlyKey });
    expect(refused).toMatchObject({ status: 403 });
    if ("socket" in refused) throw new Error("opened");
    const body = JSON.parse(refused.body) as { error: { code: string; message: string; type: string } };
    expect(body.error).toMatchObject({ code: "insufficient_scope", type: "permission_error" });
    expect(body.error.message).toMatch(/'inference' scope.*\/rpc needs an 'admin' key/);
  });

  it("creates inference keys by default and admin keys on request; only admin keys open /rpc", async () => {
    const inference = await operator.api.server.createKey({ name: "script" });
    const admin = await operator.api.server.createKey({ name: "browser", scope: "admin" });
    expect(inference.info.scope).toBe("inference");
    expect(admin.info.scope).toBe("admin");
    expect(await operator.api.server.listKeys()).toEqual([inference.info, admin.info]);
    await expect(operator.api.server.createKey({ name: "x", scope: "root" as never })).rejects.toMatchObject({ code: "invalid_argument", param: "scope" });

    // Both use the HTTP API.
    expect((await models(inference.key)).status).toBe(200);
    expect((await models(admin.key)).status).toBe(200);
    // Only the admin key opens the app's socket, whichever way the key is given.
    for (const given of [{ keyProtocol: inference.key }, { keyQuery: inference.key }, { headers: { authorization: `Bearer ${inference.key}` } }]) {
      expect(await openRpcSocket(server.url, given)).toMatchObject({ status: 403, body: expect.stringContaining("insufficient_scope") });
    }
    const socket = await openSocket(server.url, admin.key);
    socket.close();

    // What the UI asks over plain HTTP to tell why its socket did not open.
    const probe = (key?: string) => rawRequest(`${server.url}/rpc`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    expect((await probe()).status).toBe(401);
    expect(JSON.parse((await probe(inference.key)).body)).toMatchObject({ error: { code: "insufficient_scope" } });
    expect((await probe(admin.key)).status).toBe(426);

    await operator.api.server.revokeKey({ id: inference.info.id });
    await operator.api.server.revokeKey({ id: admin.info.id });
  });

  it("never lets an inference key create keys (or reach any other part of the app)", async () => {
    const inference = await operator.api.server.createKey({ name: "leaked" });
    try {
      // The RPC message that would create a key never reaches the server: the upgrade is refused.
      const outcome = await openRpcSocket(server.url, { keyQuery: inference.key });
      expect(outcome).toMatchObject({ status: 403 });
      expect((await operator.api.server.listKeys()).map((key) => key.name)).toEqual(["leaked"]);
      // The HTTP API has no way to manage keys either.
      const attempt = await rawRequest(`${server.url}/rpc`, { method: "POST", headers: { authorization: `Bearer ${inference.key}` }, body: "{}" });
      expect(attempt.status).toBeGreaterThanOrEqual(400);
      expect((await operator.api.server.listKeys()).map((key) => key.name)).toEqual(["leaked"]);
    } finally {
      await operator.api.server.revokeKey({ id: inference.info.id });
    }
  });
});

describe("revoking a key", () => {
  const operatorKey = "sk-operator-revoke";
  let server: TestServer;
  let operator: ContractConnection;
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false, ui: false, apiKeys: [operatorKey] });
    operator = await connectWebSocket(server.url, { keyProtocol: operatorKey });
  });
  afterAll(async () => {
    await operator?.close();
    await server?.dispose();
  });

  it("closes every session opened with it at once; they can no longer make keys", async () => {
    const admin = await operator.api.server.createKey({ name: "ui", scope: "admin" });
    const sockets = [await openSocket(server.url, admin.key), await openSocket(server.url, admin.key)];
    const closed = sockets.map((socket) => closeCodeOf(socket));
    // A session with another key stays.
    const other = await operator.api.server.createKey({ name: "other", scope: "admin" });
    const otherSession = await connectWebSocket(server.url, { keyProtocol: other.key });
    try {
      const session = await connectWebSocket(server.url, { keyProtocol: admin.key });
      expect(await session.api.server.listKeys()).toHaveLength(2);

      await operator.api.server.revokeKey({ id: admin.info.id });
      expect(await Promise.all(closed)).toEqual([4401, 4401]);
      await expect(session.api.server.createKey({ name: "backdoor", scope: "admin" })).rejects.toMatchObject({ code: "aborted" });
      expect((await operator.api.server.listKeys()).map((key) => key.name)).toEqual(["other"]);
      expect(await openRpcSocket(server.url, { keyProtocol: admin.key })).toMatchObject({ status: 401 });
      expect(await otherSession.api.server.listKeys()).toHaveLength(1);
      await session.close();
    } finally {
      await otherSession.close();
      await operator.api.server.revokeKey({ id: other.info.id });
    }
  });

  it("fails the calls in flight on a session whose key is revoked (here: the session revokes its own key)", async () => {
    const admin = await operator.api.server.createKey({ name: "self", scope: "admin" });
    const socket = await openSocket(server.url, admin.key);
    const closed = closeCodeOf(socket);
    const replies: unknown[] = [];
    socket.on("message", (data) => replies.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: "call", id: 1, method: "server.revokeKey", params: { id: admin.info.id } }));
    expect(await closed).toBe(4401);
    // The call ran (the key is gone) but its session was closed before it could answer.
    expect(replies).toEqual([]);
    expect(await operator.api.server.listKeys()).toEqual([]);
  });
});

describe("/health", () => {
  const key = "sk-health-key";
  let open: TestServer;
  let keyed: TestServer;
  beforeAll(async () => {
    [open, keyed] = await Promise.all([startTestServer({ withFixture: false, ui: false }), startTestServer({ withFixture: false, ui: false, apiKeys: [key] })]);
  });
  afterAll(async () => {
    await open?.dispose();
    await keyed?.dispose();
  });

  const health = async (server: TestServer, headers: Record<string, string> = {}) => {
    const response = await rawRequest(`${server.url}/health`, { headers });
    expect(response.status).toBe(200);
    return JSON.parse(response.body) as Record<string, unknown>;
  };

  it("reports everything when no key is needed", async () => {
    expect(Object.keys(await health(open))).toEqual(expect.arrayContaining(["status", "version", "runtimeReady", "models", "providers"]));
  });

  it("shows only status and version without a valid key while keys are required, everything with one", async () => {
    const anonymous = await health(keyed);
    expect(anonymous).toEqual({ status: "ok", version: expect.any(String) });
    expect(await health(keyed, { authorization: "Bearer wrong" })).toEqual(anonymous);
    const full = await health(keyed, { authorization: `Bearer ${key}` });
    expect(full).toMatchObject({ status: "ok", version: anonymous.version, models: [], providers: expect.any(Array) });
    // A key created in the app, of either scope, sees it too.
    const admin = await connectWebSocket(keyed.url, { keyProtocol: key });
    try {
      const inference = await admin.api.server.createKey({ name: "monitor" });
      expect(await health(keyed, { "x-api-key": inference.key })).toHaveProperty("models");
      await admin.api.server.revokeKey({ id: inference.info.id });
    } finally {
      await admin.close();
    }
  });
});
