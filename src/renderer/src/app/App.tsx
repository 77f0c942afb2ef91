import { useEffect } from "react";
import { ChatScreen } from "../features/chat/ChatScreen.js";
import { DashboardScreen } from "../features/dashboard/DashboardScreen.js";
import { ModelsScreen } from "../features/models/ModelsScreen.js";
import { ServerScreen } from "../features/server/ServerScreen.js";
import { useThemeFromSettings } from "../features/settings/useThemeFromSettings.js";
import { ApiKeyPrompt } from "./ApiKeyPrompt.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { layoutStore, useLayout } from "./layoutStore.js";
import { useRoute } from "./router.js";
import { SCREEN_LABELS, Sidebar } from "./Sidebar.js";
import { useAppStores, useConnection } from "./StoresContext.js";

/** Reads everything again after the connection comes back. */
function useRefreshOnReconnect(): void {
  const stores = useAppStores();
  const reconnects = useConnection((state) => state.reconnects);
  useEffect(() => {
    if (reconnects > 0) void stores.refresh();
  }, [reconnects, stores]);
}

/** Narrow windows: the drawer closes on navigation and on Escape. */
function useDrawerClosing(screenKey: string): void {
  useEffect(() => layoutStore.getState().setDrawerOpen(false), [screenKey]);
  const open = useLayout((state) => state.drawerOpen);
  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") layoutStore.getState().setDrawerOpen(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);
}

/** Narrow windows only (CSS hides it otherwise): the menu button and the current screen's name. */
function TopBar({ title }: { title: string }) {
  const drawerOpen = useLayout((state) => state.drawerOpen);
  return (
    <header className="topbar">
      <button
        type="button"
        className="menu-button"
        aria-label="Menu"
        aria-expanded={drawerOpen}
        aria-controls="app-sidebar"
        data-testid="menu-button"
        onClick={() => layoutStore.getState().setDrawerOpen(!drawerOpen)}
      >
        <span aria-hidden="true">☰</span>
      </button>
      <span className="topbar-title">{title}</span>
    </header>
  );
}

/** The app's layout: sidebar (rail or drawer), connection banner, the current screen. */
export function App() {
  const route = useRoute();
  useThemeFromSettings();
  useRefreshOnReconnect();
  useDrawerClosing(`${route.screen}/${route.conversationId ?? ""}`);
  const collapsed = useLayout((state) => state.sidebarCollapsed);
  const drawerOpen = useLayout((state) => state.drawerOpen);
  return (
    <div className={`app${collapsed ? " app-rail" : ""}${drawerOpen ? " app-drawer-open" : ""}`} data-testid="app">
      <Sidebar current={route.screen} />
      {drawerOpen && <div className="drawer-backdrop" aria-hidden="true" onClick={() => layoutStore.getState().setDrawerOpen(false)} />}
      <main className="main" data-testid={`screen-${route.screen}`}>
        <TopBar title={SCREEN_LABELS[route.screen]} />
        <ConnectionBanner />
        {route.screen === "models" && <ModelsScreen />}
        {route.screen === "chat" && <ChatScreen conversationId={route.conversationId} />}
        {route.screen === "dashboard" && <DashboardScreen />}
        {route.screen === "server" && <ServerScreen />}
      </main>
      <ApiKeyPrompt />
    </div>
  );
}
