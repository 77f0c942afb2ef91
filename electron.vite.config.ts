import { resolve } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig } from "electron-vite";

export default defineConfig({
  main: {
    build: {
      // node-llama-cpp, better-sqlite3 and other native or large packages stay in node_modules
      // (electron-builder unpacks their binaries from the asar).
      externalizeDeps: true,
      // The model host runs in utility processes (src/main/utilityModelHost.ts): its own entry.
      rollupOptions: {
        input: { index: resolve(__dirname, "src/main/index.ts"), modelHost: resolve(__dirname, "src/core/modelhost/modelHostMain.ts") },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: false,
      // A sandboxed preload must be CommonJS.
      rollupOptions: {
        input: { index: resolve(__dirname, "src/preload/index.ts") },
        output: { format: "cjs", entryFileNames: "[name].cjs" },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, "src/renderer"),
    plugins: [react()],
    build: {
      // The same bundle is served to browsers by `serve`: ship it minified.
      minify: true,
      // The CSP allows fonts from 'self' only: small assets (KaTeX's fonts) stay files, never data: URLs.
      assetsInlineLimit: 0,
      rollupOptions: { input: { index: resolve(__dirname, "src/renderer/index.html") } },
    },
  },
});
