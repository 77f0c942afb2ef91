import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawConnection, rawRequest, type RawConnection } from "../helpers/rawHttp.js";
import { connectWebSocket } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("safe defaults", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false });
  });
  afterAll(() => server?.dispose());

  it.each(["localhost", "127.0.0.1", "[::1]", "localhost:1234", "10.1.2.3:80"])("accepts Host %s", async (host) => {
    const response = await rawRequest(`${server.url}/v1/models`, { headers: { host } });
    expect(response.status).toBe(200);
  });

  it.each(["evil.example.com", "attacker.test:11435", "localhost.evil.com"])("refuses Host %s with 403 (DNS rebinding)", async (host) => {
    const response = await rawRequest(`${server.url}/v1/models`, { headers: { host } });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: "host_not_allowed" } });
  });

  it.each(["localhost:1234@evil.com", "localhost@evil.com", "127.0.0.1:80@evil.example.com", "localhost:", "localhost:99999", "localhost:80:80", "localhost/path", "[::1", "[evil.com]:80", "local host", "user@localhost"])(
    "refuses Host %s with 403: only a plain host[:port] is a host",
    async (host) => {
      const response = await rawRequest(`${server.url}/v1/models`, { headers: { host } });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: { code: "host_not_allowed" } });
    },
  );

  it("counts an Origin as this server only with the same scheme, host and port", async () => {
    const { host, port } = new URL(server.url);
    const origin = (value: string) => rawRequest(`${server.url}/v1/models`, { headers: { origin: value } });
    expect((await origin(`http://${host}`)).status).toBe(200);
    for (const other of [`https://${host}`, `http://127.0.0.1:${Number(port) + 1}`, `http://localhost:${port}`, `ws://${host}`, `http://${host}/path`, `http://user@${host}`]) {
      const response = await origin(other);
      expect(response.status, other).toBe(403);
      expect(response.headers["access-control-allow-origin"], other).toBeUndefined();
    }
    // The same origin under another name the server answers to is that name's origin.
    expect((await rawRequest(`${server.url}/v1/models`, { headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } })).status).toBe(200);
  });

  it("sends no CORS headers and refuses cross-origin browser requests", async () => {
    const crossOrigin = await rawRequest(`${server.url}/v1/models`, { headers: { origin: "https://evil.example.com" } });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.headers["access-control-allow-origin"]).toBeUndefined();
    const preflight = await rawRequest(`${server.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    // A cross-site form post (a "simple" request) is refused before it can start any work.
    const formPost = await rawRequest(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { origin: "https://evil.example.com", "content-type": "text/plain" },
      body: '{"model":"x","messages":[]}',
    });
    expect(formPost.status).toBe(403);
    const plain = await rawRequest(`${server.url}/v1/models`);
    expect(plain.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("allows same-origin requests (the UI served by this server)", async () => {
    const host = new URL(server.url).host;
    const response = await rawRequest(`${server.url}/v1/models`, { headers: { origin: `http://${host}` } });
    expect(response.status).toBe(200);
  });

  it("rejects malformed JSON with a 400 in OpenAI's shape", async () => {
    const response = await rawRequest(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model": "x", "messages": [',
    });
    expect(response.status).toBe(400);
    const body = JSON.parse(response.body) as { error: { message: string; type: string } };
    expect(body.error.type).toBe("invalid_request_error");
    expect(body.error.message).toMatch(/JSON/);
    const notObject = await rawRequest(`${server.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: "[1,2]" });
    expect(notObject.status).toBe(400);
  });

  it("never lets a model id leave the models dir", async () => {
    for (const model of ["../../etc/passwd", "/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "a/../../x"]) {
      const response = await rawRequest(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      expect([400, 404]).toContain(response.status);
      expect(response.body).not.toContain("root:");
    }
  });

  it("answers unknown routes with a 404 and no stack trace", async () => {
    const response = await rawRequest(`${server.url}/v1/nothing`);
    expect(response.status).toBe(404);
    expect(response.body).not.toMatch(/at .*\.js/);
  });
});

describe("API keys, CORS origins and body limit", () => {
  let server: TestServer;
  const key = "sk-local-test-key";
  beforeAll(async () => {
    server = await startTestServer({ withFixture: false, apiKeys: [key], corsOrigins: ["https://app.example.com"], allowedHosts: ["box.lan"], bodyLimitBytes: 1024 });
  });
  afterAll(() => server?.dispose());

  it("requires the key, compared exactly", async () => {
    expect((await rawRequest(`${server.url}/v1/models`)).status).toBe(401);
    expect((await rawRequest(`${server.url}/v1/models`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await rawRequest(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}x` } })).status).toBe(401);
    const missing = await rawRequest(`${server.url}/v1/models`);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: "invalid_api_key" } });
    expect((await rawRequest(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await rawRequest(`${server.url}/api/tags`, { headers: { "x-api-key": key } })).status).toBe(200);
    expect((await rawRequest(`${server.url}/health`)).status).toBe(200);
  });

  it("accepts configured host names", async () => {
    const response = await rawRequest(`${server.url}/health`, { headers: { host: "box.lan:11435" } });
    expect(response.status).toBe(200);
  });

  it("gives listed origins exact CORS headers, never a wildcard", async () => {
    const preflight = await rawRequest(`${server.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(preflight.headers["access-control-allow-headers"]).toContain("authorization");
    const get = await rawRequest(`${server.url}/v1/models`, { headers: { origin: "https://app.example.com", authorization: `Bearer ${key}` } });
    expect(get.status).toBe(200);
    expect(get.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    expect(get.headers.vary).toContain("Origin");
    const other = await rawRequest(`${server.url}/v1/models`, { headers: { origin: "https://app.example.com.evil.com", authorization: `Bearer ${key}` } });
    expect(other.status).toBe(403);
  });

  it("refuses oversized bodies with 413", async () => {
    const response = await rawRequest(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "x", messages: [{ role: "user", content: "a".repeat(5000) }] }),
    });
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});

describe("slow clients", () => {
  const requestTimeoutMs = 400;
  /** Far more than the server should ever take to cut a slow client off. */
  const boundMs = 4_000;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ui: false, requestTimeoutMs });
  });
  afterAll(() => server?.dispose());

  const closedWithin = async (connection: RawConnection) =>
    Promise.race([connection.closed, new Promise<"still open">((resolve) => setTimeout(() => resolve("still open"), boundMs))]);

  it("cuts off a client that dribbles its body with a 408", async () => {
    const connection = await rawConnection(server.url);
    const body = JSON.stringify({ model: "fixture", messages: [{ role: "user", content: "x".repeat(100) }] });
    connection.socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // One byte every 50 ms: the body would take 7 s.
    connection.dribble(body, 50);
    const outcome = await closedWithin(connection);
    if (outcome === "still open") throw new Error(`still open after ${boundMs} ms`);
    expect(outcome.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(outcome.afterMs).toBeGreaterThanOrEqual(requestTimeoutMs - 50);
  });

  it("cuts off a client that dribbles its headers, and one that sends nothing", async () => {
    const headers = await rawConnection(server.url);
    headers.dribble("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + "p".repeat(200) + "\r\n\r\n", 20);
    const silent = await rawConnection(server.url);
    const [dribbled, nothing] = await Promise.all([closedWithin(headers), closedWithin(silent)]);
    if (dribbled === "still open" || nothing === "still open") throw new Error(`still open after ${boundMs} ms`);
    expect(dribbled.data).toMatch(/^HTTP\/1\.1 408 /);
    expect(nothing.data).toBe("");
  });

  it("leaves alone what takes longer once the request is in: streamed answers, keep-alive, the RPC socket", async () => {
    // A keep-alive connection may wait longer than the timeout between two requests, and an RPC socket lives on.
    const connection = await rawConnection(server.url);
    connection.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const rpc = await connectWebSocket(server.url);
    await new Promise((resolve) => setTimeout(resolve, requestTimeoutMs * 3));
    connection.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const { data } = await connection.closed;
    expect(data.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    await expect(rpc.api.conversations.list()).resolves.toEqual([]);
    await rpc.close();

    // A stream that lasts longer than the timeout (the fixture's sentence, again and again).
    const started = Date.now();
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", prompt: "The", max_tokens: 400, ignore_eos: true, stream: true }),
    });
    const text = await response.text();
    const elapsedMs = Date.now() - started;
    expect(response.status).toBe(200);
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(elapsedMs).toBeGreaterThan(requestTimeoutMs);
  });
});
