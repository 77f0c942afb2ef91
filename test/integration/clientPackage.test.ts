/**
 * `marduk-local/client` as a user gets it: the repo packed with `npm pack`, the tarball unpacked
 * into a fresh package's node_modules, and the SDK imported by name under a module hook that
 * fails on any import of node-llama-cpp, Electron or the app's own code.
 *
 * The tarball is unpacked, not `npm install`ed: an install would resolve every dependency of the
 * app (node-llama-cpp, fastify, ...) from the registry, which is slow and needs the network, while
 * the SDK needs only `openai`, linked to ours.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const repo = process.cwd();
let workDir: string;
let appDir: string;
let tarballFiles: string[];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), "marduk-client-package-"));
  // The SDK's own build (part of build:node); incremental, so cheap when it is current.
  await run("npx", ["tsc", "-p", "tsconfig.client.json"], { cwd: repo });
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", workDir], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarballFiles = packed!.files.map((file) => file.path);
  appDir = path.join(workDir, "app");
  const installed = path.join(appDir, "node_modules", "marduk-local");
  mkdirSync(installed, { recursive: true });
  writeFileSync(path.join(appDir, "package.json"), JSON.stringify({ name: "sdk-user", private: true, type: "module" }));
  await run("tar", ["-xzf", path.join(workDir, packed!.filename), "-C", installed, "--strip-components=1"]);
  symlinkSync(path.join(repo, "node_modules", "openai"), path.join(appDir, "node_modules", "openai"), "dir");
}, 60_000);
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("the packed marduk-local/client", () => {
  it("ships the SDK's JavaScript and types, and no sources or source maps", () => {
    expect(tarballFiles).toContain("out/client/index.js");
    expect(tarballFiles).toContain("out/client/index.d.ts");
    expect(tarballFiles).toContain("out/shared/errorCodes.d.ts");
    expect(tarballFiles).toContain("out/shared/routingHeaders.js");
    expect(tarballFiles).toContain("bin/marduk-local.js");
    expect(tarballFiles.filter((file) => file.startsWith("src/") || file.endsWith(".map"))).toEqual([]);
  });

  it("imports by name in a fresh package, with nothing of node-llama-cpp, Electron or the core in its graph", async () => {
    const log = path.join(workDir, "resolved.log");
    writeFileSync(
      path.join(appDir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
const forbidden = /node-llama-cpp|electron|\\/out\\/node\\/|\\/src\\/core\\//;
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (forbidden.test(specifier) || forbidden.test(result.url)) throw new Error("forbidden import: " + specifier + " -> " + result.url);
  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
  return result;
}
`,
    );
    writeFileSync(path.join(appDir, "register.mjs"), 'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\n');
    const script = `const sdk = await import("marduk-local/client");
const client = new sdk.LlamaCppClient({ baseUrl: "http://127.0.0.1:1" });
await client.cleanup();
console.log(JSON.stringify({ client: typeof sdk.LlamaCppClient, runWithTools: typeof sdk.runWithTools, error: new sdk.ModelNotFoundError("x", { code: "model_not_found" }) instanceof sdk.MardukClientError }));`;
    const { stdout } = await run(process.execPath, ["--import", "./register.mjs", "--input-type=module", "-e", script], { cwd: appDir });
    expect(JSON.parse(stdout.trim().split("\n").at(-1)!)).toEqual({ client: "function", runWithTools: "function", error: true });
    const resolved = readFileSync(log, "utf8").trim().split("\n");
    expect(resolved.some((url) => url.endsWith("/node_modules/marduk-local/out/client/index.js"))).toBe(true);
    expect(resolved.some((url) => url.includes("/node_modules/openai/"))).toBe(true);
    // The SDK's own files and the src/shared contracts it imports (built beside it into out/shared), nothing else.
    expect(resolved.some((url) => url.endsWith("/node_modules/marduk-local/out/shared/routingHeaders.js"))).toBe(true);
    expect(
      resolved.filter(
        (url) => url.startsWith("file:") && !url.includes("/node_modules/marduk-local/out/client/") && !url.includes("/node_modules/marduk-local/out/shared/") && !url.includes("/openai/"),
      ),
    ).toEqual([]);
  });

  it("keeps package.json importable and points types at the SDK's declarations", () => {
    const manifest = JSON.parse(readFileSync(path.join(appDir, "node_modules", "marduk-local", "package.json"), "utf8")) as { exports: Record<string, unknown> };
    expect(manifest.exports["./package.json"]).toBe("./package.json");
    expect(manifest.exports["./client"]).toEqual({ types: "./out/client/index.d.ts", import: "./out/client/index.js" });
    expect(existsSync(path.join(appDir, "node_modules", "marduk-local", "out", "client", "index.d.ts"))).toBe(true);
  });
});

