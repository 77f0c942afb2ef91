/**
 * `marduk-local ls` and `marduk-local rm` as processes (bin/marduk-local.js runs out/node,
 * which `npm test` builds first).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LibraryModel } from "../../src/shared/api/library.js";
import { getFixtureModelPath, writeNotGguf } from "../fixtures/gguf/index.js";
import { writeSplitModel } from "../helpers/libraryModels.js";
import { CLI_PATH } from "../helpers/serveProcess.js";

let root: string;
let modelsDir: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "marduk-cli-ls-"));
  modelsDir = path.join(root, "models");
  await mkdir(path.join(modelsDir, "owner", "repo"), { recursive: true });
  const fixture = await getFixtureModelPath();
  await copyFile(fixture, path.join(modelsDir, "fixture.gguf"));
  await writeSplitModel(fixture, path.join(modelsDir, "owner", "repo"), "big-Q8_0", 2);
  await writeFile(path.join(modelsDir, "owner", "repo", ".big-Q8_0-00001-of-00002.gguf.origin.json"), JSON.stringify({ source: "url" }));
  await writeNotGguf(path.join(modelsDir, "junk.gguf"));
  await writeFile(path.join(root, "outside.gguf"), "GGUF");
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe("marduk-local ls", () => {
  it("prints the models as JSON", async () => {
    const { code, stdout } = await runCli(["ls", "--models-dir", modelsDir, "--json"]);
    expect(code).toBe(0);
    const models = JSON.parse(stdout) as LibraryModel[];
    expect(models.map((model) => [model.id, model.status, model.files.length])).toEqual([
      ["fixture", "ok", 1],
      ["junk", "broken", 1],
      ["owner/repo/big-Q8_0", "ok", 2],
    ]);
    expect(models[0]).toMatchObject({ architecture: "llama", quantization: "F32", contextLength: 2048, capabilities: ["chat", "completion"] });
    expect(models[2]!.origin).toEqual({ source: "url" });
  });

  it("prints a table with the reason a file is broken", async () => {
    const { code, stdout } = await runCli(["ls"], { MARDUK_MODELS_DIR: modelsDir });
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+SIZE\s+QUANT\s+ARCH\s+CONTEXT\s+STATUS$/);
    expect(lines[1]).toMatch(/^fixture\s+3\.\d+ MB\s+F32\s+llama\s+2048\s+ok$/);
    expect(lines[2]).toMatch(/^junk\s+4\.\d+ kB\s+-\s+-\s+-\s+broken: not a valid GGUF file/);
    expect(lines[3]).toMatch(/^owner\/repo\/big-Q8_0\s+\S+ MB\s+F32\s+llama\s+2048\s+ok$/);
  });

  it("says so when there are no models, and has --help", async () => {
    expect((await runCli(["ls", "--models-dir", path.join(root, "empty")])).stdout).toBe(`No models in ${path.join(root, "empty")}\n`);
    const help = await runCli(["ls", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--models-dir");
    expect((await runCli(["ls", "--bogus"])).code).toBe(2);
  });
});

describe("marduk-local rm", () => {
  it("deletes every part of a split model and its origin record, and prints them", async () => {
    const { code, stdout } = await runCli(["rm", "owner/repo/big-Q8_0", "--models-dir", modelsDir]);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split("\n")).toEqual([
      `Deleted ${path.join("owner", "repo", "big-Q8_0-00001-of-00002.gguf")}`,
      `Deleted ${path.join("owner", "repo", "big-Q8_0-00002-of-00002.gguf")}`,
      `Deleted ${path.join("owner", "repo", ".big-Q8_0-00001-of-00002.gguf.origin.json")}`,
    ]);
    expect(existsSync(path.join(modelsDir, "owner", "repo", "big-Q8_0-00002-of-00002.gguf"))).toBe(false);
    expect(existsSync(path.join(modelsDir, "fixture.gguf"))).toBe(true);
  });

  it("refuses ids outside the models dir and unknown ids, deleting nothing", async () => {
    for (const id of ["../outside", path.join(root, "outside.gguf"), "owner/../../outside"]) {
      const { code, stderr } = await runCli(["rm", id, "--models-dir", modelsDir]);
      expect(code).toBe(1);
      expect(stderr).toContain("is not a valid model id");
    }
    expect(existsSync(path.join(root, "outside.gguf"))).toBe(true);
    const unknown = await runCli(["rm", "nope", "--models-dir", modelsDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("The model 'nope' does not exist");
  });

  it("needs exactly one id, and has --help", async () => {
    expect((await runCli(["rm", "--models-dir", modelsDir])).code).toBe(2);
    const help = await runCli(["rm", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: marduk-local rm <id>");
  });
});
