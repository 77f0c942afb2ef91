import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSoak } from "../../bench/soakRunner.js";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startServeProcess, type ServeProcess } from "../helpers/serveProcess.js";

/**
 * A short soak in CI: 8 streaming clients against a real `serve` for 30 s. Zero errors, and
 * no growth trend in the server's memory. `npm run soak -- --minutes N` runs the long one.
 */
const SOAK_MS = 30_000;
let dir: string;
let server: ServeProcess;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "marduk-soak-"));
  mkdirSync(path.join(dir, "models"));
  copyFileSync(await getFixtureModelPath(), path.join(dir, "models", "fixture.gguf"));
  server = await startServeProcess(["--models-dir", path.join(dir, "models"), "--data-dir", dir, "--model", "fixture", "--parallel", "4"]);
  // Preloaded, so the soak measures serving, not the first load.
  await new Promise<void>((resolve) => {
    const check = () => (server.stdout().includes("Loaded fixture") ? resolve() : server.child.stdout!.once("data", check));
    check();
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("soak", () => {
  it(`8 streams for ${SOAK_MS / 1000} s: no errors, no memory growth trend`, async () => {
    const report = await runSoak({ url: server.url, model: "fixture", streams: 8, durationMs: SOAK_MS, maxTokens: 24 });
    const rssMb = report.rss.map(([, bytes]) => Math.round(bytes / 1e6));
    console.info(`[soak] ${report.requests} requests, ${report.errors} errors, p50 ${report.p50Ms.toFixed(0)} ms, p99 ${report.p99Ms.toFixed(0)} ms, RSS MB ${rssMb.join(" ")}, trend ${report.rssSlopeMbPerMinute.toFixed(1)} MB/min`);
    expect(report.errorSamples).toEqual([]);
    expect(report.requests).toBeGreaterThan(50);
    // A leak of even a few kB a request would show as tens of MB a minute at this rate. But V8
    // may simply not have run a major collection yet (RSS then climbs for a while, most often on
    // a fast, quiet machine): a leak goes on climbing in the next window too, a heap that had not
    // been collected yet does not.
    let slope = report.rssSlopeMbPerMinute;
    if (slope >= 20) {
      const next = await runSoak({ url: server.url, model: "fixture", streams: 8, durationMs: SOAK_MS, maxTokens: 24 });
      const nextRssMb = next.rss.map(([, bytes]) => Math.round(bytes / 1e6));
      console.info(`[soak] a second window: ${next.requests} requests, ${next.errors} errors, RSS MB ${nextRssMb.join(" ")}, trend ${next.rssSlopeMbPerMinute.toFixed(1)} MB/min`);
      expect(next.errorSamples).toEqual([]);
      slope = Math.min(slope, next.rssSlopeMbPerMinute);
    }
    expect(slope).toBeLessThan(20);
  }, 2 * SOAK_MS + 60_000);
});
