import { contextBridge } from "electron";

// The typed contract bridge is added with the desktop app; for now only the platform is exposed.
contextBridge.exposeInMainWorld("marduk", { platform: process.platform });
