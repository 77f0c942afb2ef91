/**
 * `npm run soak -- --minutes N [--streams S]`: a long soak of a real `marduk-local serve` with
 * the generated fixture model: S concurrent streaming clients for N minutes, then errors,
 * p50/p99 latency and the server's RSS over time.
 */
import { mkdtempSync, rmSync, copyFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { getFixtureModelPath } from "../test/fixtures/gguf/index.js";
import { startServe } from "./benchClient.js";
import { runSoak } from "./soakRunner.js";

const { values } = parseArgs({ options: { minutes: { type: "string", default: "5" }, streams: { type: "string", default: "8" } } });
const minutes = Number(values.minutes);
const streams = Number(values.streams);
if (!(minutes > 0) || !(streams >= 1)) throw new Error("--minutes and --streams must be positive numbers");

const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-soak-"));
mkdirSync(path.join(dir, "models"));
copyFileSync(await getFixtureModelPath(), path.join(dir, "models", "fixture.gguf"));
const server = await startServe(["--models-dir", path.join(dir, "models"), "--data-dir", dir, "--model", "fixture", "--parallel", String(Math.min(streams, 8))], "Loaded fixture");
try {
  console.log(`Soaking ${server.url} with ${streams} streams for ${minutes} min...`);
  const report = await runSoak({ url: server.url, model: "fixture", streams, durationMs: minutes * 60_000, sampleEveryMs: 5000 });
  console.log(`requests ${report.requests}, errors ${report.errors}, p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`);
  if (report.errorSamples.length) console.log("errors:", report.errorSamples);
  console.log("RSS over time (s, MB):");
  for (const [time, bytes] of report.rss) console.log(`  ${(time / 1000).toFixed(0).padStart(5)}  ${(bytes / 1e6).toFixed(1)}`);
  console.log(`RSS trend over the second half: ${report.rssSlopeMbPerMinute.toFixed(2)} MB/min`);
  process.exitCode = report.errors > 0 ? 1 : 0;
} finally {
  server.child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
