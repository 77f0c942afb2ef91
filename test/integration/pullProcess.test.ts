/**
 * `marduk-local pull` and `inspect` as real processes against the fake hub (HF_ENDPOINT).
 * They run the compiled CLI: `npm test` builds it first (npm run build:node).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLI_PATH, startServeProcess } from "../helpers/serveProcess.js";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import {
  startStandardFakeHub,
  TINY_LLAMA_F16,
  TINY_LLAMA_FIXTURE,
  TINY_LLAMA_Q8_0,
  TINY_LLAMA_REPO,
  type FakeHub,
} from "../fixtures/fakeHub/index.js";

const COMPILED_CLI = fileURLToPath(new URL("../../out/node/cli/main.js", import.meta.url));

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  finished: Promise<Finished>;
}

function startCli(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { ...process.env, HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: "", MARDUK_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, finished };
}

const runCli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> => startCli(args, env).finished;

/** Polls until `predicate` holds (the download's own speed decides how long: no fixed sleeps). */
async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const sizeOf = (filePath: string): number => (existsSync(filePath) ? statSync(filePath).size : 0);
const sha256 = (filePath: string): string => createHash("sha256").update(readFileSync(filePath)).digest("hex");

describe("marduk-local pull / inspect processes", () => {
  let hub: FakeHub;
  let root: string;
  let modelsDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    if (!existsSync(COMPILED_CLI)) throw new Error("The CLI is not built: run `npm run build:node` (npm test does it)");
    hub = await startStandardFakeHub();
  });

  afterAll(async () => {
    await hub?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await hub.idle();
    hub.setKnobs({});
    hub.clearRequests();
    if (root) rmSync(root, { recursive: true, force: true });
    root = mkdtempSync(path.join(os.tmpdir(), "marduk-pull-"));
    modelsDir = path.join(root, "models");
    env = { HF_ENDPOINT: hub.url };
  });

  it("survives SIGKILL part-way and resumes to a byte-identical file", async () => {
    const ref = `hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`;
    const dir = path.join(modelsDir, "marduk-test", "tiny-llama-GGUF");
    const finalPath = path.join(dir, TINY_LLAMA_F16);
    const partialPath = `${finalPath}.partial`;
    const { size, sha256: expectedSha } = hub.fileInfo(TINY_LLAMA_REPO, TINY_LLAMA_F16);

    hub.setKnobs({ throttleBytesPerSecond: 1_500_000 });
    const first = startCli(["pull", ref, "--models-dir", modelsDir], env);
    await until(() => sizeOf(partialPath) > 1_000_000, "the partial file to grow");
    first.child.kill("SIGKILL");
    const killed = await first.finished;
    expect(killed.signal).toBe("SIGKILL");
    const kept = sizeOf(partialPath);
    expect(kept).toBeGreaterThan(1_000_000);
    expect(kept).toBeLessThan(size);
    expect(existsSync(finalPath)).toBe(false);
    expect(killed.stderr).toContain("Downloading marduk-test/tiny-llama-GGUF/tiny-llama-F16");

    hub.setKnobs({});
    await hub.idle();
    hub.clearRequests();
    const second = await runCli(["pull", ref, "--models-dir", modelsDir], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming at/);
    expect(second.stdout).toContain("Pulled marduk-test/tiny-llama-GGUF/tiny-llama-F16");
    expect(sha256(finalPath)).toBe(expectedSha);
    const gets = hub.cdnRequests(`${TINY_LLAMA_REPO}/${TINY_LLAMA_F16}`).filter((request) => request.method === "GET");
    expect(gets).toHaveLength(1);
    expect(gets[0]!.range).toBe(`bytes=${kept}-`);
    expect(gets[0]!.bytesSent).toBe(size - kept);
    // The killed process's lock and partial are gone; only the model and its origin remain.
    expect(readdirSync(dir).sort()).toEqual([`.${TINY_LLAMA_F16}.origin.json`, TINY_LLAMA_F16]);
  });

  it("stops on Ctrl-C with exit code 130 and keeps the partial file", async () => {
    hub.setKnobs({ throttleBytesPerSecond: 1_000_000 });
    const partialPath = path.join(modelsDir, "marduk-test", "tiny-llama-GGUF", `${TINY_LLAMA_Q8_0}.partial`);
    const running = startCli(["pull", `hf:${TINY_LLAMA_REPO}:Q8_0`, "--models-dir", modelsDir], env);
    await until(() => sizeOf(partialPath) > 300_000, "the partial file to grow");
    running.child.kill("SIGINT");
    const result = await running.finished;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("run the same pull again to resume");
    expect(sizeOf(partialPath)).toBeGreaterThan(300_000);
  });

  it("exits 1 on a sha256 mismatch and leaves no file under the final name", async () => {
    hub.setKnobs({ corrupt: [`${TINY_LLAMA_REPO}/${TINY_LLAMA_Q8_0}`] });
    const result = await runCli(["pull", `hf:${TINY_LLAMA_REPO}:Q8_0`, "--models-dir", modelsDir, "--quiet"], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/sha256/);
    const dir = path.join(modelsDir, "marduk-test", "tiny-llama-GGUF");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("pulls a model that then answers through the API without an explicit load", async () => {
    const pulled = await runCli(["pull", `hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_FIXTURE}`, "--models-dir", modelsDir, "--quiet"], env);
    expect(pulled.code, pulled.stderr).toBe(0);
    const modelId = "marduk-test/tiny-llama-GGUF/marduk-fixture-F32";
    expect(pulled.stdout).toContain(`Pulled ${modelId}`);
    const server = await startServeProcess(["--models-dir", modelsDir, "--gpu", "cpu", "--threads", "1", "--parallel", "1"], {
      MARDUK_DATA_DIR: path.join(root, "data"),
    });
    try {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: modelId, messages: [{ role: "user", content: "Hi" }], temperature: 0, max_tokens: 32 }),
      });
      const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.choices?.[0]?.message.content).toContain(FIXTURE_SENTENCE);
    } finally {
      await server.stop("SIGTERM");
    }
  });

  it("exits 2 on usage errors and 0 for --help", async () => {
    const [noRef, bad, help, noTarget] = await Promise.all([
      runCli(["pull"], env),
      runCli(["pull", "http://example.com/x.gguf", "--models-dir", modelsDir], env),
      runCli(["pull", "--help"], env),
      runCli(["inspect", "--json"], env),
    ]);
    expect(noRef.code).toBe(2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/loopback/);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("hf:owner/repo:Q4_K_M");
    expect(noTarget.code).toBe(2);
  });

  it("inspects a hub file from its header, and a downloaded model, as JSON", async () => {
    const remote = await runCli(["inspect", `hf:${TINY_LLAMA_REPO}:Q8_0`, "--json", "--gpu", "cpu", "--ctx-size", "512"], env);
    expect(remote.code, remote.stderr).toBe(0);
    const report = JSON.parse(remote.stdout) as {
      source: { kind: string; file: string };
      summary: { architecture: string; quantization: string; contextLength: number; hasChatTemplate: boolean; parameterCount: number };
      fit: { verdict: string; needs: { contextSize: number } };
    };
    expect(report.source).toMatchObject({ kind: "hf", file: TINY_LLAMA_Q8_0 });
    expect(report.summary).toMatchObject({ architecture: "llama", quantization: "Q8_0", contextLength: 2048, hasChatTemplate: true });
    expect(report.fit).toMatchObject({ verdict: "fits in RAM", needs: { contextSize: 512 } });
    expect(hub.cdnRequests().every((request) => request.range !== undefined)).toBe(true);

    expect((await runCli(["pull", `hf:${TINY_LLAMA_REPO}:Q8_0`, "--models-dir", modelsDir, "--quiet"], env)).code).toBe(0);
    const local = await runCli(["inspect", "marduk-test/tiny-llama-GGUF/tiny-llama-Q8_0", "--models-dir", modelsDir, "--gpu", "cpu"], env);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(/Architecture\s+llama/);
    expect(local.stdout).toMatch(/Quantization\s+Q8_0/);
    expect(local.stdout).toMatch(/Chat template\s+yes/);
    expect(local.stdout).toMatch(/Fit\s+fits in RAM/);

    const missing = await runCli(["inspect", "no/such/model", "--models-dir", modelsDir, "--gpu", "cpu"], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no model 'no/such/model'");
  });
});
