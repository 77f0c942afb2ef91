import { useSyncExternalStore } from "react";
import { useStore } from "zustand";
import { createStore, type StoreApi } from "zustand/vanilla";

/** Below this width the sidebar is a drawer and the chat screen shows one pane at a time (matches app.css). */
export const NARROW_LAYOUT_PX = 900;

/** The chat screen's panes; below {@link NARROW_LAYOUT_PX} only one shows. */
export type ChatPane = "conversations" | "conversation" | "settings";

export interface LayoutState {
  /** Wide windows: the sidebar is an icon rail (remembered). */
  sidebarCollapsed: boolean;
  /** Narrow windows: the sidebar drawer is open (never remembered: it opens on demand). */
  drawerOpen: boolean;
  /** Which chat pane a narrow window shows; in medium windows "settings" swaps the settings in for the messages. */
  chatPane: ChatPane;

  toggleSidebar(): void;
  setDrawerOpen(open: boolean): void;
  showChatPane(pane: ChatPane): void;
}

export type LayoutStore = StoreApi<LayoutState>;

/** Where the collapsed state is remembered. */
export const SIDEBAR_STORAGE_KEY = "marduk.sidebarCollapsed";

/** The app shell's layout state; `storage` (default: none) remembers the sidebar's collapsed state. */
export function createLayoutStore(storage?: Pick<Storage, "getItem" | "setItem">): LayoutStore {
  const read = (): boolean => {
    try {
      return storage?.getItem(SIDEBAR_STORAGE_KEY) === "true";
    } catch {
      return false;
    }
  };
  return createStore<LayoutState>()((set, get) => ({
    sidebarCollapsed: read(),
    drawerOpen: false,
    chatPane: "conversation",

    toggleSidebar() {
      const sidebarCollapsed = !get().sidebarCollapsed;
      set({ sidebarCollapsed });
      try {
        storage?.setItem(SIDEBAR_STORAGE_KEY, String(sidebarCollapsed));
      } catch {
        // Storage full or denied: the state still holds for this page.
      }
    },

    setDrawerOpen(drawerOpen) {
      set({ drawerOpen });
    },

    showChatPane(chatPane) {
      set({ chatPane });
    },
  }));
}

function browserStorage(): Storage | undefined {
  try {
    return typeof window === "undefined" ? undefined : window.localStorage;
  } catch {
    return undefined;
  }
}

/** The page's one layout store (layout is per window, not per connection). */
export const layoutStore: LayoutStore = createLayoutStore(browserStorage());

/** Reads the page's layout store. */
export const useLayout = <T,>(selector: (state: LayoutState) => T): T => useStore(layoutStore, selector);

const NARROW_QUERY = `(max-width: ${NARROW_LAYOUT_PX - 0.02}px)`;

function subscribeToNarrow(onChange: () => void): () => void {
  const query = window.matchMedia(NARROW_QUERY);
  query.addEventListener("change", onChange);
  return () => query.removeEventListener("change", onChange);
}

/** True while the window is narrower than {@link NARROW_LAYOUT_PX} (the same breakpoint as app.css). */
export function useNarrowLayout(): boolean {
  return useSyncExternalStore(subscribeToNarrow, () => window.matchMedia(NARROW_QUERY).matches);
}
