import { app, Menu, type MenuItemConstructorOptions } from "electron";
import { openExternalSafely } from "./window.js";

/** Where "Documentation" in the Help menu leads. */
const DOCS_URL = "https://node-llama-cpp.withcat.ai";

/** The application menu: standard roles, plus reload and developer tools in development only. */
export function buildApplicationMenu(options: { isDev: boolean }): Menu {
  const isMac = process.platform === "darwin";
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: "appMenu" as const }] : []),
    { role: "fileMenu" },
    { role: "editMenu" },
    {
      label: "View",
      submenu: [
        ...(options.isDev ? ([{ role: "reload" }, { role: "forceReload" }, { role: "toggleDevTools" }, { type: "separator" }] as MenuItemConstructorOptions[]) : []),
        { role: "resetZoom" },
        { role: "zoomIn" },
        { role: "zoomOut" },
        { type: "separator" },
        { role: "togglefullscreen" },
      ],
    },
    { role: "windowMenu" },
    {
      role: "help",
      submenu: [
        { label: "node-llama-cpp Documentation", click: () => openExternalSafely(DOCS_URL) },
        { label: `${app.getName()} ${app.getVersion()}`, enabled: false },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
