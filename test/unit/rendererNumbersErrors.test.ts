/**
 * One source for each number and errors next to their field, in the renderer's stores and
 * helpers (the fake API, no model): a core error's `param` picks the field, the live context
 * grows with the streamed reply, the live time to first token runs from the send, the charts
 * break where samples are missing, and the library and the dashboard show the same memory.
 */
import { describe, expect, it } from "vitest";
import type { StreamingReply } from "../../src/renderer/src/features/chat/chatStore.js";
import { liveContextUsage, liveStats } from "../../src/renderer/src/features/chat/liveStats.js";
import { modelMemory, SAMPLE_GAP_MS, toChartRows } from "../../src/renderer/src/features/dashboard/chartData.js";
import { createModelsStore } from "../../src/renderer/src/features/models/modelsStore.js";
import { createServerStore } from "../../src/renderer/src/features/server/serverStore.js";
import { createSettingsStore } from "../../src/renderer/src/features/settings/settingsStore.js";
import { errorParam, fieldOfError } from "../../src/renderer/src/lib/fieldErrors.js";
import { loadedMemoryBytes } from "../../src/renderer/src/lib/modelMemory.js";
import { createFakeMardukApi, FakeRpcError, loadedModel, sample } from "./rendererFakeApi.js";

function reply(extra: Partial<StreamingReply> = {}): StreamingReply {
  return { requestId: 1, conversationId: "c1", text: "", reasoning: "", tokenCount: 0, reasoningTokenCount: 0, startedAt: 1_000, stopRequested: false, ...extra };
}

describe("errors next to their field", () => {
  it("maps a core error's param (a zod path) to a form field, and nothing else", () => {
    const fields = { origins: "corsOrigins", path: "path" } as const;
    expect(fieldOfError(new FakeRpcError("invalid_argument", "bad", "origins[2]"), fields)).toBe("corsOrigins");
    expect(fieldOfError(new FakeRpcError("invalid_argument", "bad", "path"), fields)).toBe("path");
    expect(fieldOfError(new FakeRpcError("invalid_argument", "bad", "modelId"), fields)).toBeUndefined();
    expect(fieldOfError(new FakeRpcError("internal_error", "bad"), fields)).toBeUndefined();
    expect(fieldOfError(new Error("plain"), fields)).toBeUndefined();
    // A param named like a built-in of objects is no field.
    expect(fieldOfError(new FakeRpcError("invalid_argument", "bad", "constructor"), fields)).toBeUndefined();
    expect(errorParam({ param: "" })).toBeUndefined();
  });

  it("shows CORS origin errors under the origins field: the page's check and the core's, a general failure at the top", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createServerStore(api);
    expect(await store.getState().setCorsOrigins(["not an origin"])).toBe(false);
    expect(store.getState().fieldErrors.corsOrigins).toMatch(/not an origin/);
    expect(store.getState().error).toBeNull();
    store.getState().clearFieldError("corsOrigins");
    expect(store.getState().fieldErrors.corsOrigins).toBeUndefined();

    fake.failNext("server.setCorsOrigins", new FakeRpcError("invalid_argument", "'https://a.example/x' must be an exact origin", "origins[0]"));
    expect(await store.getState().setCorsOrigins(["https://a.example"])).toBe(false);
    expect(store.getState().fieldErrors.corsOrigins).toMatch(/exact origin/);
    expect(store.getState().error).toBeNull();

    fake.failNext("server.setCorsOrigins", new FakeRpcError("internal_error", "The settings could not be written"));
    expect(await store.getState().setCorsOrigins(["https://a.example"])).toBe(false);
    expect(store.getState().error).toBe("The settings could not be written");
    // A new attempt clears the field's old error.
    expect(store.getState().fieldErrors.corsOrigins).toBeUndefined();

    fake.failNext("server.createKey", new FakeRpcError("invalid_argument", "Invalid value for 'name': too long", "name"));
    await store.getState().createKey("x".repeat(10));
    expect(store.getState().fieldErrors.keyName).toMatch(/too long/);
  });

  it("shows an import path error under the path field, another failure at the screen's top", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createModelsStore(api);
    fake.failNext("models.importFile", new FakeRpcError("invalid_argument", "Give the file's absolute path", "path"));
    expect(await store.getState().importFile("models/x.gguf")).toBeNull();
    expect(store.getState().importError).toBe("Give the file's absolute path");
    expect(store.getState().error).toBeNull();
    fake.failNext("models.importFile", new FakeRpcError("internal_error", "disk full"));
    expect(await store.getState().importFile("/tmp/x.gguf")).toBeNull();
    expect(store.getState()).toMatchObject({ importError: null, error: "disk full" });
  });

  it("puts a settings failure that names the setting under it", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createSettingsStore(api);
    await store.getState().init();
    fake.failNext("settings.update", new FakeRpcError("invalid_argument", "Invalid value for 'theme'", "theme"));
    await store.getState().update({ theme: "dark" });
    expect(store.getState().fieldErrors.theme).toMatch(/theme/);
    expect(store.getState().error).toBeNull();
    await store.getState().update({ theme: "dark" });
    expect(store.getState().fieldErrors.theme).toBeUndefined();
  });
});

describe("one source for each number", () => {
  it("times the first token from the send (the stored stats' definition), and tokens/s after it", () => {
    expect(liveStats(reply()).timeToFirstTokenMs).toBeNull();
    const stats = liveStats(reply({ tokenCount: 5, firstTokenAt: 1_219, lastTokenAt: 2_219 }));
    expect(stats.timeToFirstTokenMs).toBe(219);
    expect(stats.tokensPerSecond).toBe(5);
  });

  it("grows the context usage with the reply streaming into the open conversation", () => {
    const stored = { usedTokens: 40, contextSize: 2048 };
    expect(liveContextUsage(null, reply({ tokenCount: 3 }), "c1")).toBeNull();
    expect(liveContextUsage(stored, null, "c1")).toBe(stored);
    expect(liveContextUsage(stored, reply({ tokenCount: 3 }), "c1")).toEqual({ usedTokens: 43, contextSize: 2048 });
    expect(liveContextUsage(stored, reply({ tokenCount: 9 }), "c1")!.usedTokens).toBe(49);
    // Another conversation's stream does not count.
    expect(liveContextUsage(stored, reply({ tokenCount: 9 }), "c2")).toBe(stored);
  });

  it("breaks the charts where samples are missing, and only there", () => {
    const rows = toChartRows([sample(1_000), sample(2_000), sample(3_000), sample(3_000 + SAMPLE_GAP_MS + 1_000), sample(4_000 + SAMPLE_GAP_MS + 1_000)]);
    expect(rows).toHaveLength(6);
    const gap = rows[3]!;
    expect(gap.time).toBeGreaterThan(3_000);
    expect(gap.time).toBeLessThan(3_000 + SAMPLE_GAP_MS + 1_000);
    expect(gap.cpu ?? null).toBeNull();
    expect(gap.ramUsed ?? null).toBeNull();
    expect(rows.filter((row) => row.cpu === undefined)).toHaveLength(1);
    expect(toChartRows([sample(1_000), sample(2_000), sample(3_000)])).toHaveLength(3);
  });

  it("shows the same memory for a loaded model in the library and on the dashboard", () => {
    const measured = 12_200_000;
    // The core fills both from the same function of the loaded model's stats.
    const library = loadedModel("m", { memory: { ramBytes: 3_400_000, vramBytes: 0 }, memoryBytes: measured });
    const dashboard = modelMemory(sample(1, { models: [{ id: "m", memoryBytes: measured }] }));
    expect(loadedMemoryBytes(library)).toBe(dashboard[0]!.memoryBytes);
    // Before the measurement is known the library falls back to the admission estimate.
    expect(loadedMemoryBytes(loadedModel("m", { memory: { ramBytes: 300, vramBytes: 20 } }))).toBe(320);
  });
});
