import { describe, expect, it } from "vitest";
import { createAppStores } from "../../src/renderer/src/app/createAppStores.js";
import { createFakeMardukApi, createManualScheduler, libraryModel, loadedModel } from "./rendererFakeApi.js";

describe("app stores", () => {
  it("initialises every feature over one api, and disposes every subscription", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.library = [libraryModel("a")];
    const stores = createAppStores(api, { scheduler: createManualScheduler().scheduler });
    await stores.init();
    expect(stores.models.getState().libraryLoaded).toBe(true);
    expect(stores.server.getState().status?.mode).toBe("headless");
    expect(stores.settings.getState().settings?.theme).toBe("system");
    expect(stores.dashboard.getState().loaded).toBe(true);
    expect(stores.providers.getState().loaded).toBe(true);
    for (const emitter of [fake.chatEvents, fake.libraryChanged, fake.samples, fake.downloadProgress, fake.serverStatus, fake.settingsChanged]) {
      expect(emitter.listenerCount).toBe(1);
    }
    // The providers' list and the models' catalogue both follow provider changes.
    expect(fake.providersChanged.listenerCount).toBe(2);
    stores.dispose();
    for (const emitter of [fake.chatEvents, fake.libraryChanged, fake.samples, fake.downloadProgress, fake.serverStatus, fake.settingsChanged, fake.providersChanged]) {
      expect(emitter.listenerCount).toBe(0);
    }
  });

  it("gives new conversations the default model (a loaded one) and the default system prompt", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.library = [libraryModel("a"), libraryModel("b")];
    fake.loaded = [loadedModel("b")];
    fake.settings = { theme: "dark", defaultSystemPrompt: "Answer in French." };
    const stores = createAppStores(api, { scheduler: createManualScheduler().scheduler });
    await stores.init();
    const conversation = await stores.chat.getState().create();
    expect(conversation).toMatchObject({ modelId: "b", systemPrompt: "Answer in French." });

    fake.settings = { ...fake.settings, defaultModelId: "a" };
    await stores.settings.getState().refresh();
    await stores.chat.getState().select(null);
    stores.chat.setState({ preferredModelId: null });
    expect((await stores.chat.getState().create())?.modelId).toBe("a");
  });
});
