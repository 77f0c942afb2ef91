import { describe, expect, it } from "vitest";
import { createModelsStore } from "../../src/renderer/src/features/models/modelsStore.js";
import { chatModelChoices, chatModels, choiceDetail, pickDefaultModel } from "../../src/renderer/src/features/models/modelChoice.js";
import { catalogEntry, createFakeMardukApi, FakeRpcError, libraryModel, loadedModel, providerInfo, settle } from "./rendererFakeApi.js";

function setup() {
  const { api, fake } = createFakeMardukApi();
  const store = createModelsStore(api);
  return { fake, store, state: () => store.getState() };
}

describe("models store", () => {
  it("reads the library (sorted), loaded models and starters, then follows events", async () => {
    const t = setup();
    t.fake.library = [libraryModel("zeta"), libraryModel("alpha")];
    t.fake.starters = [{ name: "s", title: "Starter", repo: "o/r", parameters: "0.5B", kind: "chat", preferredQuant: "Q4_K_M", description: "d" }];
    await t.state().init();
    expect(t.state().library.map((m) => m.id)).toEqual(["alpha", "zeta"]);
    expect(t.state().libraryLoaded).toBe(true);
    expect(t.state().starters).toHaveLength(1);

    t.fake.libraryChanged.emit([libraryModel("beta"), libraryModel("broken", { status: "broken", error: "not a GGUF file" })]);
    expect(t.state().library.map((m) => [m.id, m.status])).toEqual([
      ["beta", "ok"],
      ["broken", "broken"],
    ]);
    t.fake.loadedChanged.emit([loadedModel("beta")]);
    expect(t.state().loaded.map((m) => m.id)).toEqual(["beta"]);
    t.state().dispose();
    expect(t.fake.libraryChanged.listenerCount).toBe(0);
  });

  it("marks a model pending while it loads and passes the dialog's options", async () => {
    const t = setup();
    t.fake.library = [libraryModel("m")];
    await t.state().init();
    const release = t.fake.hold("models.load");
    const loading = t.state().loadModel("m", { contextSize: 8192, gpuLayers: "max", parallel: 2, ttlMinutes: -1 });
    expect(t.state().pending).toEqual({ m: "loading" });
    release();
    expect(await loading).toBe(true);
    expect(t.state().pending).toEqual({});
    expect(t.state().loaded.map((m) => m.id)).toEqual(["m"]);
    expect(t.fake.callsOf("models.load")).toEqual([{ id: "m", options: { contextSize: 8192, gpuLayers: "max", parallel: 2, ttlMinutes: -1 } }]);
  });

  it("reports a failed load and clears the pending mark", async () => {
    const t = setup();
    t.fake.failNext("models.load", new FakeRpcError("model_load_failed", "not enough memory: needs 9 GB, budget 4 GB"));
    expect(await t.state().loadModel("big")).toBe(false);
    expect(t.state().error).toBe("not enough memory: needs 9 GB, budget 4 GB");
    expect(t.state().pending).toEqual({});
    t.state().clearError();
    expect(t.state().error).toBeNull();
  });

  it("unloads and removes models", async () => {
    const t = setup();
    t.fake.library = [libraryModel("a"), libraryModel("b")];
    t.fake.loaded = [loadedModel("a")];
    await t.state().init();
    await t.state().unloadModel("a");
    expect(t.state().loaded).toEqual([]);
    await t.state().removeModel("b");
    expect(t.state().library.map((m) => m.id)).toEqual(["a"]);
    expect(t.fake.callsOf("models.remove")).toEqual([{ id: "b" }]);
  });

  it("imports a file by path and refuses an empty one", async () => {
    const t = setup();
    await t.state().init();
    expect(await t.state().importFile("   ")).toBeNull();
    expect(t.state().importError).toMatch(/path/);
    const model = await t.state().importFile(" /tmp/models/new-model.gguf ");
    expect(model?.id).toBe("new-model");
    expect(t.fake.callsOf("models.importFile")).toEqual([{ path: "/tmp/models/new-model.gguf" }]);
    expect(t.state().library.map((m) => m.id)).toContain("new-model");
  });

  it("searches the hub with a sort, and a stale answer never replaces a newer one", async () => {
    const t = setup();
    t.fake.hubResults = [
      { repo: "org/llama-GGUF", author: "org", downloads: 5, likes: 1, updatedAt: "2025-01-01", gated: false, private: false },
      { repo: "org/qwen-GGUF", author: "org", downloads: 9, likes: 2, updatedAt: "2025-01-01", gated: false, private: false },
    ];
    const release = t.fake.hold("models.searchHub");
    const slow = t.state().searchHub("llama");
    expect(t.state().hub.searching).toBe(true);
    release();
    const fast = t.state().searchHub("qwen", "likes");
    await Promise.all([slow, fast]);
    expect(t.state().hub.results?.map((r) => r.repo)).toEqual(["org/qwen-GGUF"]);
    expect(t.state().hub.sort).toBe("likes");
    expect(t.fake.callsOf("models.searchHub").at(-1)).toEqual({ query: "qwen", sort: "likes", limit: 30 });

    await t.state().setHubSort("updated");
    expect(t.fake.callsOf("models.searchHub").at(-1)).toEqual({ query: "qwen", sort: "updated", limit: 30 });
  });

  it("shows a search error", async () => {
    const t = setup();
    t.fake.failNext("models.searchHub", new FakeRpcError("internal_error", "hub unreachable"));
    await t.state().searchHub("x");
    expect(t.state().hub).toMatchObject({ searching: false, searchError: "hub unreachable", results: [] });
  });

  it("opens a repository's files with fit estimates, and closes it", async () => {
    const t = setup();
    t.fake.hubFiles["org/r"] = { repo: "org/r", revision: "main", groups: [], projectors: [], fit: {} };
    await t.state().openRepo("org/r");
    expect(t.state().hub).toMatchObject({ repo: "org/r", loadingFiles: false, filesError: null });
    expect(t.state().hub.files?.repo).toBe("org/r");
    await t.state().openRepo("org/missing");
    expect(t.state().hub.filesError).toBe("No repo org/missing");
    t.state().closeRepo();
    expect(t.state().hub).toMatchObject({ repo: null, files: null });
  });
});

describe("model choice", () => {
  it("offers usable chat models and picks the configured, else a loaded, else the first", () => {
    const library = [
      libraryModel("a"),
      libraryModel("b"),
      libraryModel("emb", { capabilities: ["embedding"] }),
      libraryModel("bad", { status: "broken" }),
      libraryModel("lora", { kind: "adapter" }),
    ];
    expect(chatModels(library).map((m) => m.id)).toEqual(["a", "b"]);
    expect(pickDefaultModel(library, [], "b")).toBe("b");
    expect(pickDefaultModel(library, [loadedModel("b")])).toBe("b");
    expect(pickDefaultModel(library, [loadedModel("emb")])).toBe("a");
    expect(pickDefaultModel([], [])).toBeUndefined();
  });
});

describe("the model catalogue (remote models and aliases)", () => {
  it("is read with the library and again when providers change; a late answer does not win", async () => {
    const t = setup();
    t.fake.catalog = [catalogEntry("fixture", { kind: "local", providers: ["local"] })];
    await t.state().init();
    expect(t.state().catalog.map((entry) => entry.id)).toEqual(["fixture"]);

    // The first read after a change is slow; a second change's read answers first.
    const releaseStale = t.fake.holdAnswer("models.catalog");
    t.fake.providersChanged.emit([providerInfo("upstream-1")]);
    t.fake.catalog = [...t.fake.catalog, catalogEntry("remote-model")];
    t.fake.providersChanged.emit([providerInfo("upstream-1")]);
    await settle();
    expect(t.state().catalog.map((entry) => entry.id)).toEqual(["fixture", "remote-model"]);
    releaseStale();
    await settle();
    expect(t.state().catalog.map((entry) => entry.id)).toEqual(["fixture", "remote-model"]);

    t.state().dispose();
    expect(t.fake.providersChanged.listenerCount).toBe(0);
  });

  it("offers this machine's chat models first, then remote chat models and aliases, each labelled", () => {
    const library = [libraryModel("b"), libraryModel("a"), libraryModel("emb", { capabilities: ["embedding"] })];
    const catalog = [
      catalogEntry("a", { kind: "local", providers: ["local", "upstream-1"] }),
      catalogEntry("smart", { kind: "alias", providers: ["local", "openai"] }),
      catalogEntry("remote-z", { providers: ["upstream-2"] }),
      catalogEntry("remote-a", { providers: ["upstream-1", "upstream-2"] }),
      catalogEntry("remote-embedder", { capabilities: { chat: false, embeddings: true } }),
      // A model both here and at a remote is listed once, as this machine's.
      catalogEntry("b", { providers: ["upstream-1"] }),
    ];
    const choices = chatModelChoices(library, catalog);
    expect(choices.map((choice) => [choice.id, choice.kind])).toEqual([
      ["b", "local"],
      ["a", "local"],
      ["remote-a", "remote"],
      ["remote-z", "remote"],
      ["smart", "alias"],
    ]);
    expect(choices.map(choiceDetail)).toEqual(["", "", " · remote: upstream-1, upstream-2", " · remote: upstream-2", " · alias: local, openai"]);
    expect(chatModelChoices([], [catalogEntry("remote-model")]).map((choice) => choice.id)).toEqual(["remote-model"]);
  });
});

describe("settle helper", () => {
  it("lets promises run", async () => {
    let done = false;
    void Promise.resolve().then(() => (done = true));
    await settle();
    expect(done).toBe(true);
  });
});
