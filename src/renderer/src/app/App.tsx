import { useEffect } from "react";
import { ChatScreen } from "../features/chat/ChatScreen.js";
import { DashboardScreen } from "../features/dashboard/DashboardScreen.js";
import { ModelsScreen } from "../features/models/ModelsScreen.js";
import { ServerScreen } from "../features/server/ServerScreen.js";
import { useThemeFromSettings } from "../features/settings/useThemeFromSettings.js";
import { ApiKeyPrompt } from "./ApiKeyPrompt.js";
import { ConnectionBanner } from "./ConnectionBanner.js";
import { useRoute } from "./router.js";
import { Sidebar } from "./Sidebar.js";
import { useAppStores, useConnection } from "./StoresContext.js";

/** Reads everything again after the connection comes back. */
function useRefreshOnReconnect(): void {
  const stores = useAppStores();
  const reconnects = useConnection((state) => state.reconnects);
  useEffect(() => {
    if (reconnects > 0) void stores.refresh();
  }, [reconnects, stores]);
}

/** The app's layout: sidebar, connection banner, the current screen. */
export function App() {
  const route = useRoute();
  useThemeFromSettings();
  useRefreshOnReconnect();
  return (
    <div className="app">
      <Sidebar current={route.screen} />
      <main className="main" data-testid={`screen-${route.screen}`}>
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
