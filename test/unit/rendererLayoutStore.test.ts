import { describe, expect, it } from "vitest";
import { createLayoutStore, SIDEBAR_STORAGE_KEY } from "../../src/renderer/src/app/layoutStore.js";

/** A Storage stand-in over a Map. */
function memoryStorage(initial: Record<string, string> = {}) {
  const values = new Map(Object.entries(initial));
  return { getItem: (key: string) => values.get(key) ?? null, setItem: (key: string, value: string) => void values.set(key, value), values };
}

describe("the layout store", () => {
  it("remembers the collapsed sidebar", () => {
    const storage = memoryStorage();
    const store = createLayoutStore(storage);
    expect(store.getState().sidebarCollapsed).toBe(false);
    store.getState().toggleSidebar();
    expect(store.getState().sidebarCollapsed).toBe(true);
    expect(storage.values.get(SIDEBAR_STORAGE_KEY)).toBe("true");
    expect(createLayoutStore(storage).getState().sidebarCollapsed).toBe(true);
    store.getState().toggleSidebar();
    expect(createLayoutStore(storage).getState().sidebarCollapsed).toBe(false);
  });

  it("survives storage that throws, and never remembers the drawer", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
    };
    const store = createLayoutStore(broken);
    expect(store.getState().sidebarCollapsed).toBe(false);
    store.getState().toggleSidebar();
    expect(store.getState().sidebarCollapsed).toBe(true);
    store.getState().setDrawerOpen(true);
    expect(store.getState().drawerOpen).toBe(true);
    expect(createLayoutStore(memoryStorage({ [SIDEBAR_STORAGE_KEY]: "true" })).getState().drawerOpen).toBe(false);
  });

  it("switches the chat pane", () => {
    const store = createLayoutStore();
    expect(store.getState().chatPane).toBe("conversation");
    store.getState().showChatPane("settings");
    expect(store.getState().chatPane).toBe("settings");
    store.getState().showChatPane("conversations");
    expect(store.getState().chatPane).toBe("conversations");
  });
});
