import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App.js";
import { createAppStores } from "./app/createAppStores.js";
import { AppProvider } from "./app/StoresContext.js";
import { applyStoredTheme } from "./features/settings/theme.js";
import { createAnimationFrameScheduler } from "./lib/animationFrameScheduler.js";
import { createConnection } from "./transport/createConnection.js";
import "./styles/app.css";

applyStoredTheme();
const connection = createConnection();
const stores = createAppStores(connection.api, { scheduler: createAnimationFrameScheduler() });
void stores.init();

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <AppProvider stores={stores} connection={connection}>
      <App />
    </AppProvider>
  </StrictMode>,
);
