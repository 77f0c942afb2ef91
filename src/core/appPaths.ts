import os from "node:os";
import path from "node:path";
import { APP_NAME } from "../shared/version.js";

/**
 * The per-user data folder, as each OS expects it:
 * Linux `$XDG_DATA_HOME/marduk-local` (default `~/.local/share/marduk-local`),
 * macOS `~/Library/Application Support/marduk-local`, Windows `%APPDATA%\marduk-local`.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const home = os.homedir();
  if (platform === "win32") return path.join(env.APPDATA ?? path.join(home, "AppData", "Roaming"), APP_NAME);
  if (platform === "darwin") return path.join(home, "Library", "Application Support", APP_NAME);
  return path.join(env.XDG_DATA_HOME || path.join(home, ".local", "share"), APP_NAME);
}

/** The models folder: env `MARDUK_MODELS_DIR`, else `<data dir>/models`. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  return env.MARDUK_MODELS_DIR || path.join(defaultDataDir(env, platform), "models");
}
