/**
 * One figure for a loaded model's memory (a real core with the fixture model): the library's
 * loaded-model state, the dashboard's metrics sample and the /metrics gauge all report the
 * weights plus the context state measured by the load.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedModelState } from "../../src/shared/api/library.js";
import type { MardukApi, MetricsSample } from "../../src/shared/contract/index.js";
import { connectInMemory, type ContractConnection } from "../helpers/rpcConnections.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("a loaded model's memory", () => {
  let server: TestServer;
  let connection: ContractConnection;
  let api: MardukApi;

  beforeAll(async () => {
    server = await startTestServer();
    connection = connectInMemory(server.core.contract);
    api = connection.api;
  });
  afterAll(async () => {
    await connection?.close();
    await server?.dispose();
  });

  it("is the same in the library, on the dashboard and in /metrics", async () => {
    const loadedEvent = new Promise<LoadedModelState[]>((resolve) => {
      const stop = api.models.onLoadedChanged((models) => {
        if (!models.some((model) => model.id === "fixture" && model.state === "loaded")) return;
        stop();
        resolve(models);
      });
    });
    await api.models.load({ id: "fixture" });
    const fromEvent = (await loadedEvent).find((model) => model.id === "fixture")!;
    const library = (await api.models.loaded()).find((model) => model.id === "fixture")!;
    expect(library.memoryBytes).toBeGreaterThan(0);
    // The event the library follows carries the same figure as the call.
    expect(fromEvent.memoryBytes).toBe(library.memoryBytes);

    const sample = await new Promise<MetricsSample>((resolve) => {
      const stop = api.metrics.onSample((next) => {
        stop();
        resolve(next);
      });
    });
    expect(sample.models).toEqual([{ id: "fixture", memoryBytes: library.memoryBytes }]);

    const scrape = await (await fetch(`${server.url}/metrics`)).text();
    const gauge = /^marduk_model_memory_bytes\{model="fixture"\} (\d+)$/m.exec(scrape);
    expect(gauge, scrape.slice(0, 500)).not.toBeNull();
    expect(Number(gauge![1])).toBe(library.memoryBytes);
  });
});
