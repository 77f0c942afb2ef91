import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/**
 * Where local llama.cpp builds live, and why there.
 *
 * node-llama-cpp 3.21.1 loads a binary only from its own folders: the prebuilt packages, or
 * `node_modules/node-llama-cpp/llama/localBuilds/<folder>` (`getLlama` has no option to load a
 * binary from elsewhere, and the loader behind it, `Llama._create`, is internal). So the
 * compiled binary stays in `localBuilds`, and what makes it *used* lives in the app's data dir:
 * `<data dir>/engine/local-build.json` (the record). `getLlama` only finds a build there when it
 * is given the build's exact cmake options (node-llama-cpp names the folder after a hash of
 * them), and the runtime only passes them when the record says so. A data dir without a record
 * (every test's temporary one) therefore keeps the prebuilt binary, whatever `localBuilds` holds.
 */

/** The environment variable that hands the engine folder to model host processes. */
export const ENGINE_DIR_ENV = "MARDUK_ENGINE_DIR";

/** The engine folder of a data dir: the local build's record. */
export function engineDirOf(dataDir: string): string {
  return path.join(dataDir, "engine");
}

/** The record of the local build in use (see {@link LocalBuildRecord}). */
export function localBuildRecordPath(engineDir: string): string {
  return path.join(engineDir, "local-build.json");
}

const require = createRequire(import.meta.url);

/** The installed node-llama-cpp package's folder. */
export function nodeLlamaCppDir(): string {
  // Resolves to <package>/dist/index.js.
  return path.resolve(path.dirname(require.resolve("node-llama-cpp")), "..");
}

/** node-llama-cpp's folder of local builds: `<package>/llama/localBuilds`. */
export function defaultLocalBuildsDir(): string {
  return path.join(nodeLlamaCppDir(), "llama", "localBuilds");
}

/** A build runs at a time per node-llama-cpp installation (they share its llama.cpp checkout). */
export function buildLockPath(localBuildsDir: string): string {
  return path.join(path.dirname(localBuildsDir), ".marduk-engine-build.lock");
}

let installedVersion: string | undefined;
/** The installed node-llama-cpp's version (a local build only fits the addon sources it was built from). */
export function nodeLlamaCppVersion(): string {
  installedVersion ??= (JSON.parse(readFileSync(path.join(nodeLlamaCppDir(), "package.json"), "utf8")) as { version: string }).version;
  return installedVersion;
}

/** The llama.cpp release node-llama-cpp bundles (`llama/binariesGithubRelease.json`), e.g. "v0.4.0". */
export function bundledLlamaCppRelease(): string {
  try {
    const file = path.join(nodeLlamaCppDir(), "llama", "binariesGithubRelease.json");
    return (JSON.parse(readFileSync(file, "utf8")) as { release?: string }).release ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Where node-llama-cpp keeps a local build's binary inside its folder. */
export function localBuildBinaryPath(localBuildsDir: string, folderName: string): string {
  return path.join(localBuildsDir, folderName, "Release", "llama-addon.node");
}

/** The file node-llama-cpp writes last in a finished build's folder. */
export function localBuildDoneMarker(localBuildsDir: string, folderName: string): string {
  return path.join(localBuildsDir, folderName, "buildDone.status");
}
