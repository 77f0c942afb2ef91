import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/**
 * The HTTP API names models by id only: a path (absolute or relative) is never loaded, whether
 * the file exists or not, and the answer is the same either way (nothing is learned about the
 * disk). Loading a file from elsewhere is an explicit import by the operator.
 */
let server: TestServer;
let outsideDir: string;
let outsideModel: string;

beforeAll(async () => {
  server = await startTestServer();
  outsideDir = mkdtempSync(path.join(os.tmpdir(), "marduk-outside-"));
  // A real, loadable model outside the models folder, with the library model's name.
  outsideModel = path.join(outsideDir, "fixture.gguf");
  copyFileSync(await getFixtureModelPath(), outsideModel);
});

afterAll(async () => {
  await server?.dispose();
  rmSync(outsideDir, { recursive: true, force: true });
});

async function post(route: string, body: object): Promise<{ status: number; text: string }> {
  const response = await fetch(`${server.url}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

const requests: Array<[string, (model: string) => object]> = [
  ["/v1/chat/completions", (model) => ({ model, messages: [{ role: "user", content: "Hi" }] })],
  ["/v1/completions", (model) => ({ model, prompt: "Hi" })],
  ["/v1/embeddings", (model) => ({ model, input: "Hi" })],
  ["/api/generate", (model) => ({ model, prompt: "Hi", stream: false })],
  ["/api/chat", (model) => ({ model, messages: [{ role: "user", content: "Hi" }], stream: false })],
];

describe("model paths over HTTP", () => {
  it.each(requests)("%s loads no file by path, and answers alike whether it exists", async (route, body) => {
    const answers: Array<{ status: number; text: string }> = [];
    for (const model of [outsideModel, path.join(outsideDir, "missing.gguf"), "/etc/passwd.gguf", "./fixture.gguf", "../fixture"]) {
      const answer = await post(route, body(model));
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      answers.push({ status: answer.status, text: answer.text.split(model).join("<model>") });
    }
    expect(new Set(answers.map((answer) => `${answer.status} ${answer.text}`)).size).toBe(1);
    expect(answers[0]!.text).not.toMatch(/No model file|exists at/);
    expect(server.core.residency.loadedModels().map((model) => model.id)).not.toContain("fixture");
  });

  it("the library model of the same name is untouched and still serves", async () => {
    const answer = await post("/v1/chat/completions", { model: "fixture", messages: [{ role: "user", content: "Hi" }], temperature: 0 });
    expect(answer.status).toBe(200);
    expect(server.core.residency.get("fixture")?.info.path).toBe(path.join(server.modelsDir, "fixture.gguf"));
  });

  it("an operator's explicit import of a file elsewhere loads it under its id", async () => {
    const id = server.core.residency.registerFile(outsideModel);
    expect(id).toBe("fixture");
    expect(() => server.core.residency.registerFile(path.join(outsideDir, "missing.gguf"))).toThrow(/No model file/);
  });
});
