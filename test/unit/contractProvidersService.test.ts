/**
 * The providers group over real router parts (registry, remote providers stored in an in-memory
 * SQLite database, usage ledger), without any network: providers are given their models, so
 * nothing is discovered over HTTP.
 */
import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProvidersService } from "../../src/core/contract/ProvidersService.js";
import { ProviderRegistry } from "../../src/core/router/ProviderRegistry.js";
import { RemoteProviders } from "../../src/core/router/RemoteProviders.js";
import { UsageLedger } from "../../src/core/router/UsageLedger.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { ProviderStore } from "../../src/core/storage/ProviderStore.js";
import type { ProviderInfo } from "../../src/shared/contract/index.js";

let database: AppDatabase;
let registry: ProviderRegistry;
let remote: RemoteProviders;
let service: ProvidersService;

beforeEach(() => {
  database = new AppDatabase(":memory:");
  registry = new ProviderRegistry({ healthIntervalMs: 0 });
  remote = new RemoteProviders(registry, new ProviderStore(database));
  remote.start([{ config: { id: "from-config", baseUrl: "http://10.0.0.9/v1", apiKey: "sk-config-0123456789", models: ["config-model"] }, source: "config" }]);
  service = new ProvidersService({ remoteProviders: remote, providers: registry, usage: new UsageLedger(database, new Registry()) }, { changeIntervalMs: 200 });
});

afterEach(() => {
  vi.useRealTimers();
  service.dispose();
  registry.dispose();
  database.dispose();
});

describe("ProvidersService", () => {
  it("lists providers with their health and source; keys only masked", async () => {
    const saved = await service.save({ id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", apiKey: "sk-secret-abcdef123456", models: ["m1"], price: { input: 1, output: 2 } });
    expect(saved).toMatchObject({ id: "gpu-box", maskedApiKey: "sk-…3456", source: "app", editable: true, models: ["m1"], price: { input: 1, output: 2 } });
    await registry.refresh("gpu-box");
    const list = await service.list();
    expect(list.map((provider) => [provider.id, provider.source, provider.editable])).toEqual([
      ["from-config", "config", false],
      ["gpu-box", "app", true],
    ]);
    expect(list[1]!.health).toMatchObject({ healthy: true, circuit: "closed", outstanding: 0, models: ["m1"] });
    expect(JSON.stringify(list)).not.toMatch(/secret|sk-config-0123456789/);
    expect(Object.keys(list[1]!)).not.toContain("apiKey");
  });

  it("validates requests and names the field", async () => {
    await expect(service.save({ id: "local", baseUrl: "http://x.test/v1" })).rejects.toMatchObject({ code: "invalid_argument", param: "id" });
    await expect(service.save({ id: "p", baseUrl: "ftp://x.test" })).rejects.toMatchObject({ param: "baseUrl" });
    await expect(service.save({ id: "p", baseUrl: "http://x.test/v1", price: { input: -1, output: 0 } })).rejects.toMatchObject({ param: "price.input" });
    await expect(service.save({ id: "p", baseUrl: "http://x.test/v1", maxConcurrency: 0 })).rejects.toMatchObject({ param: "maxConcurrency" });
    await expect(service.save({ id: "p", baseUrl: "http://x.test/v1", extra: 1 } as never)).rejects.toMatchObject({ message: "Unknown parameter: 'extra'" });
    await expect(service.save({ id: "from-config", baseUrl: "http://x.test/v1" })).rejects.toMatchObject({ param: "id", message: expect.stringMatching(/config file/) });
    await expect(service.remove({ id: "from-config" })).rejects.toMatchObject({ param: "id" });
    await expect(service.remove({ id: "missing" })).rejects.toMatchObject({ param: "id" });
    await expect(service.test({ id: "missing" })).rejects.toMatchObject({ param: "id" });
    await expect(service.usage({ sinceMs: -1 })).rejects.toMatchObject({ param: "sinceMs" });
    await expect(service.list()).resolves.toHaveLength(1);
  });

  it("sends the new list on change, at most once per interval, and watches the registry only while someone listens", async () => {
    vi.useFakeTimers();
    expect(registry.listenerCount("changed")).toBe(0);
    const events: ProviderInfo[][] = [];
    const unsubscribe = service.onChanged((providers) => events.push(providers));
    expect(registry.listenerCount("changed")).toBe(1);

    await service.save({ id: "a", baseUrl: "http://a.test/v1", models: ["ma"] });
    await vi.advanceTimersByTimeAsync(0);
    expect(events.map((list) => list.map((provider) => provider.id))).toEqual([["from-config", "a"]]);

    // A burst of changes within the interval: one more event, with the latest list.
    await service.save({ id: "b", baseUrl: "http://b.test/v1", models: ["mb"] });
    await service.remove({ id: "a" });
    for (let i = 0; i < 10; i++) registry.notifyChanged();
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toHaveLength(2);
    expect(events[1]!.map((provider) => provider.id)).toEqual(["from-config", "b"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toHaveLength(2);

    unsubscribe();
    expect(registry.listenerCount("changed")).toBe(0);
    registry.notifyChanged();
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toHaveLength(2);
  });

  it("reports usage from the ledger", async () => {
    const usage = await service.usage({});
    expect(usage).toEqual({ since: 0, requests: 0, localRequests: 0, localShare: 0, costUsd: 0, savedUsd: 0, savedShare: 0, rows: [] });
  });
});
