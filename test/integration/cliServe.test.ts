import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { sharedModelPath } from "../helpers/sharedModels.js";
import { CLI_PATH, startServeProcess } from "../helpers/serveProcess.js";

const run = promisify(execFile);
const storiesPath = sharedModelPath("stories260K.gguf");

let modelsDir: string;
beforeAll(() => {
  modelsDir = mkdtempSync(path.join(os.tmpdir(), "marduk-cli-"));
  if (storiesPath) copyFileSync(storiesPath, path.join(modelsDir, "stories260K.gguf"));
});
const dataDirArgs = () => ["--data-dir", path.join(modelsDir, ".data")];
afterAll(() => rmSync(modelsDir, { recursive: true, force: true }));

describe("marduk-local CLI", () => {
  it("prints help", async () => {
    const { stdout } = await run(process.execPath, [CLI_PATH, "--help"]);
    expect(stdout).toContain("Usage: marduk-local <command>");
    expect(stdout).toContain("serve");
    const serveHelp = await run(process.execPath, [CLI_PATH, "serve", "--help"]);
    for (const flag of ["--host", "--port", "--models-dir", "--model", "--threads", "--gpu"]) expect(serveHelp.stdout).toContain(flag);
  });

  it("rejects bad flags with exit code 2", async () => {
    const failure = await run(process.execPath, [CLI_PATH, "serve", "--gpu", "tpu"]).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("--gpu must be one of");
  });

  it("refuses a non-loopback address without an API key", async () => {
    const failure = await run(process.execPath, [CLI_PATH, "serve", "--host", "0.0.0.0", "--models-dir", modelsDir], {
      env: { ...process.env, MARDUK_API_KEY: "" },
    }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain("without an API key");
  });

  it.skipIf(!storiesPath)("serves /health and /v1/models, then stops cleanly on SIGTERM", async () => {
    const server = await startServeProcess(["--models-dir", modelsDir, ...dataDirArgs()]);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await (await fetch(`${server.url}/health`)).json();
      expect(health).toMatchObject({ status: "ok", models: [] });
      const models = await (await fetch(`${server.url}/v1/models`)).json();
      expect(models).toEqual({
        object: "list",
        data: [{ id: "stories260K", object: "model", created: expect.any(Number), owned_by: "local" }],
      });
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
  });

  it.skipIf(!storiesPath)("preloads --model and unloads it on SIGINT", async () => {
    const server = await startServeProcess(["--models-dir", modelsDir, ...dataDirArgs(), "--model", "stories260K", "--parallel", "2"]);
    try {
      type Health = { models: Array<{ id: string; parallel: number }> };
      let health = (await (await fetch(`${server.url}/health`)).json()) as Health;
      for (let attempt = 0; attempt < 100 && health.models.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        health = (await (await fetch(`${server.url}/health`)).json()) as Health;
      }
      expect(health.models).toEqual([expect.objectContaining({ id: "stories260K", parallel: 2 })]);
    } finally {
      expect(await server.stop("SIGINT")).toBe(0);
    }
    expect(server.stdout()).toContain("Loaded stories260K");
  });

  it("works with the official openai client given only the base URL", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-cli-openai-"));
    copyFileSync(await getFixtureModelPath(), path.join(dir, "fixture.gguf"));
    const server = await startServeProcess(["--models-dir", dir, "--data-dir", dir]);
    try {
      // No key is configured on a loopback server; the client still insists on some string.
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
      const models = await client.models.list();
      expect(models.data.map((model) => model.id)).toEqual(["fixture"]);
      const completion = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hello" }] });
      expect(completion.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
      const stream = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hello" }], stream: true });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe(FIXTURE_SENTENCE);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
