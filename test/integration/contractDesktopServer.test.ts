import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalApiServer } from "../../src/core/contract/LocalApiServer.js";
import { rawRequest } from "../helpers/rawHttp.js";
import { connectInMemory, type ContractConnection } from "../helpers/rpcConnections.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe("the desktop app's local API through the contract's server group", () => {
  let testCore: TestCore;
  let server: LocalApiServer;
  let connection: ContractConnection;
  let port: number;

  beforeAll(async () => {
    testCore = createTestCore({ watchModels: false });
    port = await freePort();
    server = new LocalApiServer({ core: testCore.core, defaultPort: port }).attach();
    connection = connectInMemory(testCore.core.contract);
  });
  afterAll(async () => {
    await connection?.close();
    await server?.dispose();
    await testCore?.dispose();
  });

  it("starts, serves the API (not the UI or the RPC socket), and stops", async () => {
    const { api } = connection;
    await expect(api.server.status()).resolves.toMatchObject({ mode: "desktop", running: false, host: "127.0.0.1", port, url: null });
    const started = await api.server.start({});
    expect(started).toMatchObject({ mode: "desktop", running: true, url: `http://127.0.0.1:${port}`, requiresApiKey: false });
    expect((await rawRequest(`${started.url}/health`)).status).toBe(200);
    expect((await rawRequest(`${started.url}/v1/models`)).status).toBe(200);
    expect((await rawRequest(`${started.url}/`)).status).toBe(404);
    expect((await rawRequest(`${started.url}/rpc`)).status).toBe(404);
    const stopped = await api.server.stop();
    expect(stopped).toMatchObject({ running: false, url: null });
    await expect(rawRequest(`${started.url}/health`)).rejects.toThrow();
  });

  it("refuses to listen beyond loopback without a key, and to revoke the last key while it does", async () => {
    const { api } = connection;
    await expect(api.server.start({ host: "0.0.0.0", port })).rejects.toMatchObject({ code: "invalid_argument", param: "host" });
    const { key, info } = await api.server.createKey({ name: "lan" });
    const started = await api.server.start({ host: "0.0.0.0", port });
    expect(started).toMatchObject({ running: true, host: "0.0.0.0", requiresApiKey: true, url: `http://127.0.0.1:${port}` });
    expect((await rawRequest(`${started.url}/v1/models`)).status).toBe(401);
    expect((await rawRequest(`${started.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await expect(api.server.revokeKey({ id: info.id })).rejects.toMatchObject({ code: "invalid_argument" });
    await api.server.start({ host: "127.0.0.1", port });
    await api.server.revokeKey({ id: info.id });
    await expect(api.server.status()).resolves.toMatchObject({ host: "127.0.0.1", running: true, requiresApiKey: false });
  });

  it("says when the port is taken, and goes on at its previous address", async () => {
    const blocker = net.createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      await expect(connection.api.server.start({ port: taken })).rejects.toMatchObject({ code: "invalid_argument", param: "port", message: expect.stringContaining("in use") });
      await expect(connection.api.server.status()).resolves.toMatchObject({ running: true, port });
      await connection.api.server.stop();
      await expect(connection.api.server.start({ port: taken })).rejects.toMatchObject({ code: "invalid_argument" });
      await expect(connection.api.server.status()).resolves.toMatchObject({ running: false });
    } finally {
      blocker.close();
    }
  });

  it("remembers its address and running state for the next launch", async () => {
    await connection.api.server.start({ port });
    await server.dispose();
    // The next launch.
    server = new LocalApiServer({ core: testCore.core }).attach();
    await server.restore();
    await expect(connection.api.server.status()).resolves.toMatchObject({ running: true, port, mode: "desktop" });
    await connection.api.server.stop();
    await server.dispose();
    server = new LocalApiServer({ core: testCore.core }).attach();
    await server.restore();
    await expect(connection.api.server.status()).resolves.toMatchObject({ running: false, port });
  });
});
