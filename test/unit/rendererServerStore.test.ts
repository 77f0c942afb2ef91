import { describe, expect, it } from "vitest";
import { createServerStore, invalidOrigins, pageMayNeedAdminKey, parseOrigins } from "../../src/renderer/src/features/server/serverStore.js";
import { createSettingsStore } from "../../src/renderer/src/features/settings/settingsStore.js";
import { buildSnippets, openAiBaseUrl } from "../../src/renderer/src/features/server/snippets.js";
import { createFakeMardukApi } from "./rendererFakeApi.js";

describe("server store", () => {
  it("reads status and keys, and follows status events", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.keys = [{ id: "k1", name: "script", createdAt: 1, prefix: "mk-12…", scope: "inference", localOnly: false }];
    const store = createServerStore(api);
    await store.getState().init();
    expect(store.getState().status?.url).toBe("http://127.0.0.1:11435");
    expect(store.getState().keys).toHaveLength(1);
    fake.serverStatus.emit({ ...fake.status, running: false });
    expect(store.getState().status?.running).toBe(false);
  });

  it("shows a created key once, until dismissed; revoking removes it", async () => {
    const { api } = createFakeMardukApi();
    const store = createServerStore(api);
    await store.getState().init();
    await store.getState().createKey("  ");
    // Under the name field, not at the screen's top.
    expect(store.getState().fieldErrors.keyName).toMatch(/name/);
    expect(store.getState().error).toBeNull();
    await store.getState().createKey("my app");
    const created = store.getState().createdKey;
    expect(created?.key).toBe("mk-abcdef0123456789");
    expect(store.getState().keys.map((k) => k.name)).toEqual(["my app"]);
    store.getState().dismissCreatedKey();
    expect(store.getState().createdKey).toBeNull();
    await store.getState().revokeKey(created!.info.id);
    expect(store.getState().keys).toEqual([]);
  });

  it("creates keys with the scope chosen (inference by default), and hints when this page will need an admin key", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createServerStore(api);
    await store.getState().init();
    await store.getState().createKey("script");
    await store.getState().createKey("ui", "admin");
    await store.getState().createKey("private", "inference", { localOnly: true });
    expect(fake.callsOf("server.createKey")).toEqual([
      { name: "script", scope: "inference" },
      { name: "ui", scope: "admin" },
      { name: "private", scope: "inference", localOnly: true },
    ]);
    expect(store.getState().keys.map((key) => [key.scope, key.localOnly])).toEqual([
      ["inference", false],
      ["admin", false],
      ["inference", true],
    ]);

    const headless = { ...fake.status, mode: "headless" as const };
    const inferenceKey = { id: "k1", name: "script", createdAt: 1, prefix: "mk-12…", scope: "inference" as const, localOnly: false };
    expect(pageMayNeedAdminKey(headless, [], "inference")).toBe(true);
    expect(pageMayNeedAdminKey(headless, [inferenceKey], "inference")).toBe(true);
    expect(pageMayNeedAdminKey(headless, [], "admin")).toBe(false);
    expect(pageMayNeedAdminKey(headless, [{ ...inferenceKey, scope: "admin" }], "inference")).toBe(false);
    expect(pageMayNeedAdminKey({ ...headless, mode: "desktop" }, [], "inference")).toBe(false);
  });

  it("starts and stops (desktop) and reports refusals (headless)", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createServerStore(api);
    await store.getState().stop();
    expect(store.getState().status?.running).toBe(false);
    await store.getState().start({ port: 8080 });
    expect(fake.callsOf("server.start")).toEqual([{ port: 8080 }]);
    fake.failNext("server.stop", new Error("Headless servers cannot be stopped from the UI"));
    await store.getState().stop();
    expect(store.getState()).toMatchObject({ busy: false, error: "Headless servers cannot be stopped from the UI" });
  });

  it("validates CORS origins before saving them", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createServerStore(api);
    expect(await store.getState().setCorsOrigins(["https://app.example.com/path"])).toBe(false);
    expect(store.getState().fieldErrors.corsOrigins).toMatch(/app\.example\.com\/path/);
    expect(store.getState().error).toBeNull();
    expect(await store.getState().setCorsOrigins(["https://app.example.com", "http://localhost:3000"])).toBe(true);
    expect(fake.status.corsOrigins).toEqual(["https://app.example.com", "http://localhost:3000"]);
    expect(parseOrigins(" https://a.test/ ,\nhttps://b.test\n\nhttps://a.test")).toEqual(["https://a.test", "https://b.test"]);
    expect(invalidOrigins(["ftp://x.test", "nonsense", "https://ok.test"])).toEqual(["ftp://x.test", "nonsense"]);
  });
});

describe("settings store", () => {
  it("updates optimistically and follows events", async () => {
    const { api, fake } = createFakeMardukApi();
    const store = createSettingsStore(api);
    await store.getState().init();
    await store.getState().update({ theme: "dark" });
    expect(store.getState().settings?.theme).toBe("dark");
    fake.settingsChanged.emit({ ...fake.settings, theme: "light" });
    expect(store.getState().settings?.theme).toBe("light");
    fake.failNext("settings.update");
    await store.getState().update({ theme: "dark" });
    expect(store.getState().settings?.theme).toBe("light");
  });
});

describe("API snippets", () => {
  it("use the server's URL + /v1 and the key from the environment when one is needed", () => {
    expect(openAiBaseUrl("http://127.0.0.1:11435/")).toBe("http://127.0.0.1:11435/v1");
    const open = buildSnippets({ serverUrl: "http://127.0.0.1:5000", modelId: "org/model-Q4", requiresApiKey: false });
    expect(open.map((s) => s.id)).toEqual(["curl", "javascript", "python"]);
    for (const snippet of open) {
      expect(snippet.code).toContain("http://127.0.0.1:5000/v1");
      expect(snippet.code).toContain("org/model-Q4");
      expect(snippet.code).not.toContain("MARDUK_API_KEY");
    }
    const locked = buildSnippets({ serverUrl: "http://10.0.0.2:5000", modelId: "m", requiresApiKey: true });
    expect(locked[0]!.code).toContain('-H "Authorization: Bearer $MARDUK_API_KEY"');
    expect(locked[1]!.code).toContain("apiKey: process.env.MARDUK_API_KEY");
    expect(locked[2]!.code).toContain('api_key=os.environ["MARDUK_API_KEY"]');
  });
});
