import { createContext, useContext, type ReactNode } from "react";
import { useStore } from "zustand";
import type { ChatState } from "../features/chat/chatStore.js";
import type { DashboardState } from "../features/dashboard/dashboardStore.js";
import type { DownloadsState } from "../features/downloads/downloadsStore.js";
import type { EngineState } from "../features/server/engineStore.js";
import type { JobsState } from "../features/jobs/jobsStore.js";
import type { ModelsState } from "../features/models/modelsStore.js";
import type { ProvidersState } from "../features/server/providersStore.js";
import type { ServerState } from "../features/server/serverStore.js";
import type { SettingsState } from "../features/settings/settingsStore.js";
import type { Connection } from "../transport/createConnection.js";
import type { ConnectionState } from "../transport/connectionStore.js";
import type { AppStores } from "./createAppStores.js";

interface AppContextValue {
  stores: AppStores;
  connection: Connection;
}

const AppContext = createContext<AppContextValue | null>(null);

export function AppProvider({ stores, connection, children }: AppContextValue & { children: ReactNode }) {
  return <AppContext.Provider value={{ stores, connection }}>{children}</AppContext.Provider>;
}

function useAppContext(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error("AppProvider is missing");
  return value;
}

export const useAppStores = (): AppStores => useAppContext().stores;
export const useConnectionControls = (): Connection => useAppContext().connection;

export const useModels = <T,>(selector: (state: ModelsState) => T): T => useStore(useAppStores().models, selector);
export const useDownloads = <T,>(selector: (state: DownloadsState) => T): T => useStore(useAppStores().downloads, selector);
export const useChat = <T,>(selector: (state: ChatState) => T): T => useStore(useAppStores().chat, selector);
export const useDashboard = <T,>(selector: (state: DashboardState) => T): T => useStore(useAppStores().dashboard, selector);
export const useServer = <T,>(selector: (state: ServerState) => T): T => useStore(useAppStores().server, selector);
export const useEngine = <T,>(selector: (state: EngineState) => T): T => useStore(useAppStores().engine, selector);
export const useJobs = <T,>(selector: (state: JobsState) => T): T => useStore(useAppStores().jobs, selector);
export const useProviders = <T,>(selector: (state: ProvidersState) => T): T => useStore(useAppStores().providers, selector);
export const useSettings = <T,>(selector: (state: SettingsState) => T): T => useStore(useAppStores().settings, selector);
export const useConnection = <T,>(selector: (state: ConnectionState) => T): T => useStore(useConnectionControls().store, selector);
