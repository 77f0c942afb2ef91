#!/usr/bin/env node
// Builds the batched embedding binding (native/batchEmbedding.cc) into out/native/.
//
// It compiles one file against the llama.cpp headers of the release bundled in node-llama-cpp
// (llama/gitRelease.bundle, read offline with git) and links node-llama-cpp's prebuilt llama.cpp
// library for this platform, so it needs a C++ compiler and git, nothing from the network.
// Where either is missing, or node-llama-cpp ships no prebuilt library for this platform, it
// says so and exits 0: the server then embeds one text at a time through node-llama-cpp.
// A stamp (source hash + node-llama-cpp version) skips the work when nothing changed.
import { createHash } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const source = path.join(root, "native", "batchEmbedding.cc");
const outDir = path.join(root, "out", "native");
const output = path.join(outDir, "batchEmbedding.node");
const stampFile = path.join(outDir, "batchEmbedding.stamp");

function skip(reason) {
  console.log(`build-native: batched embeddings not built (${reason}); embeddings run one text at a time`);
  process.exit(0);
}

const llamaPackageDir = path.resolve(path.dirname(require.resolve("node-llama-cpp")), "..");
const llamaVersion = JSON.parse(readFileSync(path.join(llamaPackageDir, "package.json"), "utf8")).version;
const platform = `${process.platform}-${process.arch}`;
if (process.platform !== "linux") skip(`only Linux builds are set up, this is ${platform}`);

let binsDir;
try {
  // The package exports only its entry (dist/index.js); its folder is two levels up.
  const prebuiltPackage = path.resolve(path.dirname(require.resolve(`@node-llama-cpp/${platform}`, { paths: [llamaPackageDir] })), "..");
  binsDir = path.join(prebuiltPackage, "bins", platform);
} catch {
  skip(`node-llama-cpp has no prebuilt package for ${platform}`);
}
const llamaLibrary = existsSync(binsDir) ? readdirSync(binsDir).find((name) => /^libllama\.v[\d.]+\.so$/.test(name)) : undefined;
if (!llamaLibrary) skip(`no libllama in ${binsDir}`);

const compiler = process.env.CXX || "g++";
// Up to date: nothing to check or run (this script runs on every `npm run build:node`).
const stamp = createHash("sha256").update(readFileSync(source)).update(llamaVersion).update(llamaLibrary).update(compiler).digest("hex");
if (existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) process.exit(0);

if (spawnSync(compiler, ["--version"], { stdio: "ignore" }).status !== 0) skip(`no C++ compiler (${compiler})`);
if (spawnSync("git", ["--version"], { stdio: "ignore" }).status !== 0) skip("no git to read llama.cpp's headers from node-llama-cpp's bundle");

const napiHeaders = path.dirname(require.resolve("node-api-headers/include/node_api.h", { paths: [llamaPackageDir, root] }));
const work = mkdtempSync(path.join(os.tmpdir(), "marduk-native-"));
try {
  const checkout = path.join(work, "llama.cpp");
  execFileSync("git", ["clone", "--quiet", "--no-checkout", path.join(llamaPackageDir, "llama", "gitRelease.bundle"), checkout], { stdio: "ignore" });
  const headers = path.join(work, "headers");
  mkdirSync(headers);
  const archive = execFileSync("git", ["-C", checkout, "archive", "HEAD", "include", "ggml/include"], { maxBuffer: 64 * 1024 * 1024 });
  execFileSync("tar", ["-x", "-C", headers], { input: archive });
  mkdirSync(outDir, { recursive: true });
  const built = `${output}.${process.pid}.tmp`;
  const started = Date.now();
  execFileSync(
    compiler,
    [
      "-O2", "-std=c++17", "-shared", "-fPIC", "-Wall",
      "-DNODE_GYP_MODULE_NAME=batchEmbedding",
      `-I${napiHeaders}`, `-I${path.join(headers, "include")}`, `-I${path.join(headers, "ggml", "include")}`,
      source, "-o", built,
      // Linked by soname and without a search path: it resolves to the copy node-llama-cpp
      // already loaded in the process (see src/core/llama/batchEmbeddingBinding.ts).
      `-L${binsDir}`, `-l:${llamaLibrary}`,
    ],
    { stdio: "inherit" },
  );
  // Swapped in whole: a server running the old binding keeps its mapped file.
  renameSync(built, output);
  writeFileSync(stampFile, stamp);
  console.log(`build-native: batched embedding binding built in ${Date.now() - started} ms (node-llama-cpp ${llamaVersion}, ${platform})`);
} catch (error) {
  // No binding rather than one built from other sources than the code that would load it.
  for (const file of [`${output}.${process.pid}.tmp`, output]) rmSync(file, { force: true });
  rmSync(work, { recursive: true, force: true });
  skip(`the build failed: ${error.message.split("\n")[0]}`);
}
rmSync(work, { recursive: true, force: true });
