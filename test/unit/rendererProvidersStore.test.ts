import { describe, expect, it } from "vitest";
import {
  EMPTY_PROVIDER_FORM,
  createProvidersStore,
  formFieldOfParam,
  parseModelList,
  providerFormFrom,
  providerHealthLabel,
  providerModels,
  providerRequestFromForm,
  type ProviderForm,
} from "../../src/renderer/src/features/server/providersStore.js";
import { FakeRpcError, createFakeMardukApi, providerInfo } from "./rendererFakeApi.js";

const form = (patch: Partial<ProviderForm> = {}): ProviderForm => ({ ...EMPTY_PROVIDER_FORM, id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", ...patch });

function setup() {
  const { api, fake } = createFakeMardukApi();
  const store = createProvidersStore(api);
  return { fake, store, state: () => store.getState() };
}

describe("provider form", () => {
  it("checks the fields it can before sending anything", () => {
    expect(providerRequestFromForm(EMPTY_PROVIDER_FORM, false)).toEqual({
      fieldErrors: { id: expect.stringMatching(/id/), baseUrl: expect.stringMatching(/base URL/) },
    });
    expect(providerRequestFromForm(form({ baseUrl: "ftp://x.test" }), false)).toEqual({ fieldErrors: { baseUrl: expect.stringMatching(/http/) } });
    expect(providerRequestFromForm(form({ priceInput: "-1", priceOutput: "abc", maxConcurrency: "1.5" }), false)).toEqual({
      fieldErrors: { priceInput: expect.any(String), priceOutput: expect.any(String), maxConcurrency: expect.any(String) },
    });
  });

  it("builds the request: trimmed, models split, a missing price side is free, blank fields left out", () => {
    expect(providerRequestFromForm(form({ id: " gpu-box ", apiKey: " sk-secret ", models: "a, b,, a ,c", priceInput: "0.5", maxConcurrency: "4" }), false)).toEqual({
      request: { id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", apiKey: "sk-secret", models: ["a", "b", "c"], price: { input: 0.5, output: 0 }, maxConcurrency: 4 },
    });
    expect(providerRequestFromForm(form(), false)).toEqual({ request: { id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1" } });
    expect(parseModelList(" , ")).toEqual([]);
  });

  it("while editing, a blank key keeps the stored one and 'remove' sends an empty key", () => {
    const saved = providerInfo("gpu-box", { maskedApiKey: "sk-…cret", models: ["m1", "m2"], price: { input: 1, output: 2 }, maxConcurrency: 3 });
    const filled = providerFormFrom(saved);
    expect(filled).toEqual({ id: "gpu-box", baseUrl: "http://gpu-box.test/v1", apiKey: "", removeApiKey: false, models: "m1, m2", priceInput: "1", priceOutput: "2", maxConcurrency: "3" });
    const kept = providerRequestFromForm(filled, true);
    expect(kept).toEqual({ request: expect.not.objectContaining({ apiKey: expect.anything() }) });
    expect(providerRequestFromForm({ ...filled, apiKey: "typed", removeApiKey: true }, true)).toEqual({ request: expect.objectContaining({ apiKey: "" }) });
  });

  it("maps the core's param names to form fields", () => {
    expect(formFieldOfParam("baseUrl")).toBe("baseUrl");
    expect(formFieldOfParam("price.input")).toBe("priceInput");
    expect(formFieldOfParam("price.output")).toBe("priceOutput");
    expect(formFieldOfParam("models[2]")).toBe("models");
    expect(formFieldOfParam("providers[0].maxConcurrency")).toBe("maxConcurrency");
    expect(formFieldOfParam("providers.gpu-box.apiKey")).toBe("apiKey");
    expect(formFieldOfParam("timeouts.totalMs")).toBeUndefined();
    expect(formFieldOfParam(undefined)).toBeUndefined();
  });

  it("labels health: checking, healthy, unreachable, circuit open, half-open", () => {
    const health = providerInfo("p").health!;
    expect(providerHealthLabel(providerInfo("p", { health: undefined })).label).toBe("checking…");
    expect(providerHealthLabel(providerInfo("p", { health: { ...health, healthy: false, checkedAt: undefined } })).label).toBe("checking…");
    expect(providerHealthLabel(providerInfo("p"))).toEqual({ label: "healthy", tone: "success" });
    expect(providerHealthLabel(providerInfo("p", { health: { ...health, healthy: false, lastError: "ECONNREFUSED" } }))).toEqual({ label: "unreachable", tone: "danger" });
    expect(providerHealthLabel(providerInfo("p", { health: { ...health, healthy: false, circuit: "open" } }))).toEqual({ label: "circuit open", tone: "danger" });
    expect(providerHealthLabel(providerInfo("p", { health: { ...health, healthy: false, circuit: "half-open" } })).label).toBe("half-open");
    expect(providerModels(providerInfo("p", { models: ["configured"], health: { ...health, models: [] } }))).toEqual(["configured"]);
    expect(providerModels(providerInfo("p"))).toEqual(["p-model"]);
  });
});

describe("providers store", () => {
  it("reads the providers, follows change events, and unsubscribes on dispose", async () => {
    const t = setup();
    t.fake.providers = [providerInfo("a")];
    await t.state().init();
    expect(t.state()).toMatchObject({ loaded: true, providers: [{ id: "a" }] });
    t.fake.providersChanged.emit([providerInfo("a"), providerInfo("b")]);
    expect(t.state().providers.map((provider) => provider.id)).toEqual(["a", "b"]);
    t.state().dispose();
    expect(t.fake.providersChanged.listenerCount).toBe(0);
  });

  it("saves a new provider; the key is sent once and only its mask comes back", async () => {
    const t = setup();
    await t.state().init();
    expect(await t.state().save(form({ apiKey: "sk-0123456789abcdef" }), false)).toBe(true);
    expect(t.fake.callsOf("providers.save")).toEqual([{ id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", apiKey: "sk-0123456789abcdef" }]);
    expect(t.state().providers).toEqual([expect.objectContaining({ id: "gpu-box", maskedApiKey: "sk-…cdef" })]);
    expect(JSON.stringify(t.state().providers)).not.toContain("0123456789");

    // Editing with the key left blank keeps it.
    expect(await t.state().save(providerFormFrom(t.state().providers[0]!), true)).toBe(true);
    expect(t.fake.callsOf("providers.save")[1]).not.toHaveProperty("apiKey");
    expect(t.state().providers).toEqual([expect.objectContaining({ id: "gpu-box", maskedApiKey: "sk-…cdef" })]);
  });

  it("puts the core's field errors next to their field, and others above the form", async () => {
    const t = setup();
    expect(await t.state().save(EMPTY_PROVIDER_FORM, false)).toBe(false);
    expect(Object.keys(t.state().fieldErrors).sort()).toEqual(["baseUrl", "id"]);
    expect(t.fake.callsOf("providers.save")).toEqual([]);

    t.fake.failNext("providers.save", new FakeRpcError("invalid_argument", "Invalid value for 'price.input': Too big", "price.input"));
    expect(await t.state().save(form({ priceInput: "2000000" }), false)).toBe(false);
    expect(t.state().fieldErrors).toEqual({ priceInput: "Invalid value for 'price.input': Too big" });
    expect(t.state().saving).toBe(false);

    t.fake.failNext("providers.save", new FakeRpcError("invalid_argument", "The provider 'gpu-box' comes from the config file; change it there", "id"));
    expect(await t.state().save(form(), false)).toBe(false);
    expect(t.state().fieldErrors).toEqual({ id: expect.stringMatching(/config file/) });

    t.fake.failNext("providers.save", new FakeRpcError("internal_error", "Internal server error"));
    expect(await t.state().save(form(), false)).toBe(false);
    expect(t.state()).toMatchObject({ fieldErrors: {}, formError: "Internal server error" });
    t.state().resetForm();
    expect(t.state()).toMatchObject({ fieldErrors: {}, formError: null, testOutcome: null });
  });

  it("tests a connection: the models and latency, or why it failed", async () => {
    const t = setup();
    await t.state().test(form({ apiKey: "sk-x" }), false);
    expect(t.fake.callsOf("providers.test")).toEqual([{ id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", apiKey: "sk-x" }]);
    expect(t.state()).toMatchObject({ testing: false, testOutcome: { ok: true, models: ["remote-model"], latencyMs: 12 } });

    t.fake.failNext("providers.test", new FakeRpcError("upstream_error", "gpu-box: connection refused"));
    await t.state().test(form(), false);
    expect(t.state().testOutcome).toEqual({ ok: false, message: "gpu-box: connection refused" });

    t.fake.failNext("providers.test", new FakeRpcError("invalid_argument", "Invalid value for 'baseUrl': must be an http(s) URL without credentials", "baseUrl"));
    await t.state().test(form({ baseUrl: "http://user:pw@x.test/v1" }), false);
    expect(t.state().testOutcome).toBeNull();
    expect(t.state().fieldErrors.baseUrl).toMatch(/without credentials/);
  });

  it("drops a test's answer when the form changed while it ran", async () => {
    const t = setup();
    const release = t.fake.hold("providers.test");
    const testing = t.state().test(form(), false);
    expect(t.state().testing).toBe(true);
    t.state().resetForm();
    release();
    await testing;
    expect(t.state()).toMatchObject({ testing: false, testOutcome: null });
  });

  it("removes a provider, and reports a refusal", async () => {
    const t = setup();
    t.fake.providers = [providerInfo("a"), providerInfo("b")];
    await t.state().init();
    const release = t.fake.hold("providers.remove");
    const removing = t.state().remove("a");
    expect(t.state().removing).toBe("a");
    release();
    expect(await removing).toBe(true);
    expect(t.state()).toMatchObject({ removing: null, providers: [{ id: "b" }] });

    t.fake.failNext("providers.remove", new FakeRpcError("invalid_argument", "The provider 'b' comes from the command line; remove it there", "id"));
    expect(await t.state().remove("b")).toBe(false);
    expect(t.state().error).toMatch(/command line/);
    expect(t.state().providers).toHaveLength(1);
  });
});
