import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startServeProcess, type ServeProcess } from "../helpers/serveProcess.js";

/**
 * Scaling out for real: two `marduk-local serve` processes with the fixture model as
 * upstreams, and a third in front of them (`--upstream A --upstream B`, no models of its own).
 * Requests spread over both; killing one loses no request; its circuit opens, and closes
 * again when it comes back; with both gone the error is quick.
 */
let tempDir: string;
let upstreamA: ServeProcess;
let upstreamB: ServeProcess;
let front: ServeProcess;
let client: OpenAI;
const portOf = (url: string) => Number(new URL(url).port);

function dirWithFixture(name: string, fixture: string): string {
  const dir = path.join(tempDir, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(fixture, path.join(dir, "fixture.gguf"));
  return dir;
}

const upstreamArgs = (name: string) => ["--models-dir", path.join(tempDir, name), "--data-dir", path.join(tempDir, `${name}-data`), "--threads", "1"];

async function chat(): Promise<{ text: string; provider: string | null }> {
  const { data: stream, response } = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Hi" }], stream: true }).withResponse();
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return { text, provider: response.headers.get("x-marduk-provider") };
}

async function circuitOf(id: string): Promise<string | undefined> {
  const health = (await (await fetch(`${front.url}/health`)).json()) as { providers: { id: string; circuit: string }[] };
  return health.providers.find((provider) => provider.id === id)?.circuit;
}

beforeAll(async () => {
  tempDir = mkdtempSync(path.join(os.tmpdir(), "marduk-router-"));
  const fixture = await getFixtureModelPath();
  dirWithFixture("a", fixture);
  dirWithFixture("b", fixture);
  mkdirSync(path.join(tempDir, "front"));
  // Short timings so the breaker's round trip fits a test; the providers come from --upstream.
  const config = path.join(tempDir, "router.yaml");
  writeFileSync(config, "router:\n  healthIntervalMs: 200\n  breaker:\n    failureThreshold: 2\n    cooldownMs: 400\n");
  [upstreamA, upstreamB] = await Promise.all([startServeProcess(upstreamArgs("a")), startServeProcess(upstreamArgs("b"))]);
  front = await startServeProcess([
    "--models-dir",
    path.join(tempDir, "front"),
    "--data-dir",
    path.join(tempDir, "front-data"),
    "--config",
    config,
    "--upstream",
    upstreamA.url,
    "--upstream",
    upstreamB.url,
  ]);
  client = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await Promise.all([front?.stop(), upstreamA?.stop(), upstreamB?.stop()]);
  rmSync(tempDir, { recursive: true, force: true });
});

describe("serve --upstream A --upstream B", () => {
  it("prints its upstreams and lists their models", async () => {
    await expect.poll(() => front.stdout(), { timeout: 5_000 }).toContain(`Upstream upstream-1: ${upstreamA.url}/v1`);
    const models = await client.models.list();
    expect(models.data.map((model) => [model.id, model.owned_by])).toEqual([["fixture", "upstream-1"]]);
  });

  it("spreads 20 requests over both upstreams", async () => {
    const providers: (string | null)[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const results = await Promise.all(Array.from({ length: 4 }, () => chat()));
      for (const result of results) {
        expect(result.text).toBe(FIXTURE_SENTENCE);
        providers.push(result.provider);
      }
    }
    expect(providers).toHaveLength(20);
    expect(providers.filter((provider) => provider === "upstream-1").length).toBeGreaterThan(0);
    expect(providers.filter((provider) => provider === "upstream-2").length).toBeGreaterThan(0);
  }, 60_000);

  it("loses no request when an upstream is killed during a run; its circuit opens, then closes when it is back", async () => {
    const port = portOf(upstreamA.url);
    const results: { text: string; provider: string | null }[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 4) expect(await upstreamA.stop("SIGKILL")).toBeNull();
      results.push(await chat());
    }
    expect(results.map((result) => result.text)).toEqual(Array(12).fill(FIXTURE_SENTENCE));
    expect(results.slice(4).every((result) => result.provider === "upstream-2")).toBe(true);
    await expect.poll(() => circuitOf("upstream-1"), { timeout: 5_000, interval: 50 }).toBe("open");

    upstreamA = await startServeProcess([...upstreamArgs("a"), "--port", String(port)]);
    await expect.poll(() => circuitOf("upstream-1"), { timeout: 10_000, interval: 100 }).toBe("closed");
    const after = await Promise.all(Array.from({ length: 4 }, () => chat()));
    expect(after.map((result) => result.provider)).toContain("upstream-1");
  }, 60_000);

  it("answers quickly with an error when every upstream is down", async () => {
    await Promise.all([upstreamA.stop("SIGKILL"), upstreamB.stop("SIGKILL")]);
    const startedAt = performance.now();
    const failure = await chat().catch((error: unknown) => error);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect([502, 503]).toContain((failure as InstanceType<typeof OpenAI.APIError>).status);
    expect(String((failure as Error).message)).toMatch(/upstream-1.*upstream-2|upstream-2.*upstream-1/);
  }, 30_000);
});
