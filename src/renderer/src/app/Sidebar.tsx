import { APP_VERSION } from "../../../shared/version.js";
import { ThemePicker } from "../features/settings/ThemePicker.js";
import { useConnection, useDownloads, useModels } from "./StoresContext.js";
import { useEffect, useRef } from "react";
import { layoutStore, useLayout, useNarrowLayout } from "./layoutStore.js";
import { routeHash, type Screen } from "./router.js";
import { isDownloadActive } from "../features/downloads/downloadsStore.js";
import type { ConnectionStatus } from "../transport/ReconnectingSocketTransport.js";

const STATUS_LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  unauthorized: "Needs API key",
  closed: "Closed",
};

/** Each screen's name (navigation, the narrow window's top bar). */
export const SCREEN_LABELS: Record<Screen, string> = { models: "Models", chat: "Chat", dashboard: "Dashboard", server: "Server" };

const ITEMS: Array<{ screen: Screen; icon: string }> = [
  { screen: "models", icon: "▦" },
  { screen: "chat", icon: "✎" },
  { screen: "dashboard", icon: "◔" },
  { screen: "server", icon: "⇄" },
];

/**
 * The navigation: screens, live counters, connection state and theme. Wide windows show it as a
 * column that collapses to an icon rail (the button by the brand; remembered); narrow ones as a drawer.
 */
export function Sidebar({ current }: { current: Screen }) {
  const activeDownloads = useDownloads((state) => state.downloads.filter(isDownloadActive).length);
  const loadedCount = useModels((state) => state.loaded.filter((model) => model.state === "loaded").length);
  const status = useConnection((state) => state.status);
  const kind = useConnection((state) => state.kind);
  const collapsed = useLayout((state) => state.sidebarCollapsed);
  const drawerOpen = useLayout((state) => state.drawerOpen);
  const narrow = useNarrowLayout();
  const navRef = useRef<HTMLElement>(null);
  // An opened drawer takes the focus (its current screen's link), so the keyboard starts inside it.
  useEffect(() => {
    if (narrow && drawerOpen) navRef.current?.querySelector<HTMLElement>("[aria-current=page], a")?.focus();
  }, [narrow, drawerOpen]);
  return (
    <aside className="sidebar" id="app-sidebar" data-testid="sidebar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>
        <span className="brand-name">Marduk Local</span>
        {narrow ? (
          <button type="button" className="sidebar-toggle" aria-label="Close menu" data-testid="sidebar-close" onClick={() => layoutStore.getState().setDrawerOpen(false)}>
            <span aria-hidden="true">✕</span>
          </button>
        ) : (
          <button
            type="button"
            className="sidebar-toggle"
            aria-label={collapsed ? "Expand sidebar" : "Collapse sidebar"}
            aria-expanded={!collapsed}
            aria-controls="app-sidebar"
            data-testid="sidebar-toggle"
            onClick={() => layoutStore.getState().toggleSidebar()}
          >
            <span aria-hidden="true">{collapsed ? "»" : "«"}</span>
          </button>
        )}
      </div>
      <nav aria-label="Main" ref={navRef}>
        <ul className="nav-list">
          {ITEMS.map((item) => (
            <li key={item.screen}>
              <a
                href={routeHash({ screen: item.screen })}
                className={item.screen === current ? "nav-link nav-link-active" : "nav-link"}
                aria-current={item.screen === current ? "page" : undefined}
                data-testid={`nav-${item.screen}`}
                title={collapsed ? SCREEN_LABELS[item.screen] : undefined}
              >
                <span className="nav-icon" aria-hidden="true">
                  {item.icon}
                </span>
                <span className="nav-label">{SCREEN_LABELS[item.screen]}</span>
                {item.screen === "models" && activeDownloads > 0 && (
                  <span className="nav-count" title={`${activeDownloads} downloading`}>
                    ↓{activeDownloads}
                  </span>
                )}
                {item.screen === "models" && activeDownloads === 0 && loadedCount > 0 && (
                  <span className="nav-count" title={`${loadedCount} loaded`}>
                    {loadedCount}
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="sidebar-footer">
        <ThemePicker />
        <div className="connection-line" data-testid="connection-status">
          <span className={`status-dot status-${status}`} aria-hidden="true" />
          <span className="connection-label">{kind === "electron" ? "Desktop app" : STATUS_LABELS[status]}</span>
        </div>
        <div className="version">v{APP_VERSION}</div>
      </div>
    </aside>
  );
}
