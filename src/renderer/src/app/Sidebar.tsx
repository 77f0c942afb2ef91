import { APP_VERSION } from "../../../shared/version.js";
import { ThemePicker } from "../features/settings/ThemePicker.js";
import { useConnection, useDownloads, useModels } from "./StoresContext.js";
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

const ITEMS: Array<{ screen: Screen; label: string; icon: string }> = [
  { screen: "models", label: "Models", icon: "▦" },
  { screen: "chat", label: "Chat", icon: "✎" },
  { screen: "dashboard", label: "Dashboard", icon: "◔" },
  { screen: "server", label: "Server", icon: "⇄" },
];

/** The navigation rail: screens, live counters, connection state and theme. */
export function Sidebar({ current }: { current: Screen }) {
  const activeDownloads = useDownloads((state) => state.downloads.filter(isDownloadActive).length);
  const loadedCount = useModels((state) => state.loaded.filter((model) => model.state === "loaded").length);
  const status = useConnection((state) => state.status);
  const kind = useConnection((state) => state.kind);
  return (
    <aside className="sidebar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>
        <span className="brand-name">Marduk Local</span>
      </div>
      <nav aria-label="Main">
        <ul className="nav-list">
          {ITEMS.map((item) => (
            <li key={item.screen}>
              <a
                href={routeHash({ screen: item.screen })}
                className={item.screen === current ? "nav-link nav-link-active" : "nav-link"}
                aria-current={item.screen === current ? "page" : undefined}
                data-testid={`nav-${item.screen}`}
              >
                <span className="nav-icon" aria-hidden="true">
                  {item.icon}
                </span>
                <span>{item.label}</span>
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
          {kind === "electron" ? "Desktop app" : STATUS_LABELS[status]}
        </div>
        <div className="version">v{APP_VERSION}</div>
      </div>
    </aside>
  );
}
