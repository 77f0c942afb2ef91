/**
 * The official `ollama` client against our Ollama dialect: names and digests, /api/ps details,
 * the legacy embeddings route, raw-by-default generation for a model without a chat template,
 * refusals of what we cannot honour, and model management (pull from the fake hub, copy, delete).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Ollama, type ProgressResponse } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandardFakeHub, TINY_LLAMA_REPO, type FakeHub } from "../fixtures/fakeHub/index.js";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { UserAliasStore } from "../../src/core/router/UserAliasStore.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let hub: FakeHub;
let server: TestServer;
let ollama: Ollama;
let fixtureSha256: string;

/** The fixture with its chat template key renamed: a model without a template. */
async function writeTemplatelessFixture(destination: string): Promise<void> {
  const bytes = readFileSync(await getFixtureModelPath());
  const key = Buffer.from("tokenizer.chat_template");
  const at = bytes.indexOf(key);
  if (at < 0) throw new Error("the fixture has no chat template key");
  bytes.write("tokenizer.chat_templatX", at, "utf8");
  writeFileSync(destination, bytes);
}

beforeAll(async () => {
  hub = await startStandardFakeHub();
  server = await startTestServer({ coreOptions: { hub: { endpoint: hub.url } } });
  await writeTemplatelessFixture(path.join(server.modelsDir, "plain.gguf"));
  fixtureSha256 = createHash("sha256").update(readFileSync(await getFixtureModelPath())).digest("hex");
  ollama = new Ollama({ host: server.url });
});
afterAll(async () => {
  await server?.dispose();
  await hub?.close();
});

/** The status code of a client call that must fail. */
async function failure(call: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await call;
  } catch (error) {
    const { status_code: status, error: message } = error as { status_code: number; error: string };
    return { status, message };
  }
  throw new Error("the call succeeded");
}

describe("the ollama client", () => {
  it("lists models as name:tag with a content sha256 digest", async () => {
    const { models } = await ollama.list();
    const fixture = models.find((model) => model.name === "fixture:latest");
    expect(fixture).toMatchObject({ model: "fixture:latest", digest: fixtureSha256, details: { format: "gguf", family: "llama" } });
    expect(models.find((model) => model.name === "plain:latest")?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("echoes the name as sent, and /api/ps has the details and digest", async () => {
    const reply = await ollama.chat({ model: "fixture:latest", messages: [{ role: "user", content: "Hi" }], options: { temperature: 0 } });
    expect(reply).toMatchObject({ model: "fixture:latest", message: { content: FIXTURE_SENTENCE } });
    const bare = await ollama.generate({ model: "fixture", prompt: "Hi", options: { temperature: 0 } });
    expect(bare.model).toBe("fixture");
    const { models } = await ollama.ps();
    const running = models.find((model) => model.name === "fixture:latest");
    const listed = (await ollama.list()).models.find((model) => model.name === "fixture:latest")!;
    expect(running).toMatchObject({ model: "fixture:latest", digest: fixtureSha256, details: { format: "gguf", family: "llama", parameter_size: listed.details.parameter_size, quantization_level: "F32" } });
  });

  it("show answers for name:latest", async () => {
    const show = await ollama.show({ model: "fixture:latest" });
    expect(show.details).toMatchObject({ family: "llama", quantization_level: "F32" });
  });

  it("embeddings (the legacy route) gives the same vector as embed", async () => {
    const legacy = await ollama.embeddings({ model: "fixture", prompt: "The quick brown fox" });
    const current = await ollama.embed({ model: "fixture", input: "The quick brown fox" });
    expect(legacy.embedding.length).toBeGreaterThan(0);
    expect(legacy.embedding).toEqual(current.embeddings[0]);
  });

  it("generate on a model without a chat template is a raw completion of the prompt", async () => {
    const generated = await ollama.generate({ model: "plain", prompt: "Once upon a time", options: { temperature: 0, num_predict: 6 } });
    const response = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "plain", prompt: "Once upon a time", temperature: 0, max_tokens: 6 }),
    });
    const completion = (await response.json()) as { choices: Array<{ text: string }>; usage: { prompt_tokens: number } };
    expect(generated.response).toBe(completion.choices[0]!.text);
    // The same prompt tokens: no chat layout around the prompt.
    expect(generated.prompt_eval_count).toBe(completion.usage.prompt_tokens);
  });

  it("refuses suffix, template and context with a 400 naming the field, and returns no context", async () => {
    for (const [field, value] of [["suffix", "end"], ["template", "{{ .Prompt }}"], ["context", [1, 2, 3]]] as const) {
      const refused = await failure(ollama.generate({ model: "fixture", prompt: "Hi", [field]: value } as never));
      expect(refused.status).toBe(400);
      expect(refused.message).toContain(field);
    }
    const answer = (await ollama.generate({ model: "fixture", prompt: "Hi", options: { num_predict: 2 } })) as unknown as Record<string, unknown>;
    expect(answer).not.toHaveProperty("context");
  });

  it("copy makes an alias that serves the source, delete removes it, unknown names are 404", async () => {
    await ollama.copy({ source: "fixture:latest", destination: "my-fox" });
    expect((await ollama.list()).models.map((model) => model.name)).toContain("my-fox:latest");
    const reply = await ollama.chat({ model: "my-fox", messages: [{ role: "user", content: "Hi" }], options: { temperature: 0 } });
    expect(reply).toMatchObject({ model: "my-fox", message: { content: FIXTURE_SENTENCE } });
    // Kept for the next start of the server.
    const aliasesFile = path.join(server.tempDir, "aliases.json");
    expect(new UserAliasStore(aliasesFile).list()).toEqual([{ alias: "my-fox", targets: [{ provider: "local", model: "fixture" }] }]);
    await ollama.delete({ model: "my-fox:latest" });
    expect((await ollama.list()).models.map((model) => model.name)).not.toContain("my-fox:latest");
    expect(new UserAliasStore(aliasesFile).list()).toEqual([]);
    expect((await failure(ollama.delete({ model: "no-such-model" }))).status).toBe(404);
    expect((await failure(ollama.copy({ source: "no-such-model", destination: "x" }))).status).toBe(404);
  });

  it("pulls hf.co/owner/repo:QUANT from the hub with Ollama's progress lines, then serves and deletes it", async () => {
    const name = `hf.co/${TINY_LLAMA_REPO}:Q8_0`;
    const lines: ProgressResponse[] = [];
    for await (const line of await ollama.pull({ model: name, stream: true })) lines.push(line);
    expect(lines[0]!.status).toBe("pulling manifest");
    const pulling = lines.filter((line) => line.status.startsWith("pulling sha256") || /^pulling [0-9a-f]{12}$/.test(line.status));
    expect(pulling.length).toBeGreaterThan(0);
    const last = pulling.at(-1)!;
    expect(last.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(last.completed).toBe(last.total);
    expect(last.total).toBeGreaterThan(1000);
    expect(lines.slice(-2).map((line) => line.status)).toEqual(["writing manifest", "success"]);
    expect(lines.map((line) => line.status)).toContain("verifying sha256 digest");

    const listed = (await ollama.list()).models.map((model) => model.name);
    expect(listed).toContain(name);
    const modelId = listed.find((entry) => entry.includes("tiny-llama-Q8_0") && entry !== name)!;
    expect(modelId).toBeDefined();
    // stream: false answers once.
    expect(await ollama.pull({ model: name, stream: false })).toEqual({ status: "success" });

    // Deleting the model also removes the name it was pulled by.
    await ollama.delete({ model: modelId });
    const after = (await ollama.list()).models.map((model) => model.name);
    expect(after.some((entry) => entry.includes("tiny-llama-Q8_0"))).toBe(false);
  });

  it("refuses a pull name that is no hub reference with a 400", async () => {
    expect((await failure(ollama.pull({ model: "llama3.2", stream: false }))).status).toBe(400);
  });
});
