import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { mutateGguf } from "../fixtures/gguf/ggufMutator.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/**
 * Mutants the library accepts go all the way: a chat request loads each one (in its own model
 * host process). Whatever llama.cpp does with it, every request gets an answer (a result or an
 * error) and the server stays up for the next.
 */
const MUTANTS = 240;
// Each load spawns a model host (~5 s here): 6 keep the suite within its time budget.
const MAX_LOADS = 6;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ loadDefaults: { contextSize: 256, parallel: 1 } });
});
afterAll(() => server?.dispose());

async function chat(model: string): Promise<number> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4 }),
    signal: AbortSignal.timeout(60_000),
  });
  await response.text();
  return response.status;
}

describe("GGUF fuzzing through the server", () => {
  it("answers a request for every accepted mutant and stays up", async () => {
    const mutants = mutateGguf(await readFile(await getFixtureModelPath()), MUTANTS, 20261201);
    for (const [index, mutant] of mutants.entries()) await writeFile(path.join(server.modelsDir, `m${index}.gguf`), mutant.bytes);
    const accepted = (await server.core.library.list()).filter((model) => model.status === "ok" && model.id.startsWith("m")).slice(0, MAX_LOADS);
    const statuses: Record<string, number> = {};
    for (const model of accepted) {
      const status = await chat(model.id);
      statuses[status] = (statuses[status] ?? 0) + 1;
      // Unload it again, so the next mutant does not wait for memory.
      await server.core.residency.unload(model.id);
      expect(await chat("fixture")).toBe(200);
    }
    console.info(`[fuzz] ${accepted.length} accepted mutants loaded: statuses ${JSON.stringify(statuses)}`);
    expect(accepted.length).toBeGreaterThan(0);
  }, 300_000);
});
