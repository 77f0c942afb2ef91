/**
 * Speculative decoding with prompt lookup and with a draft model: drafts come from the prompt
 * or from a smaller model, the model checks them, and the output is exactly the output without
 * it (greedy, the fixture model); the drafts and acceptances are reported per generation and in
 * /metrics, and a request can turn it off. A draft model of another vocabulary is refused.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { sharedModelPath } from "../helpers/sharedModels.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/** A prompt that holds the answer, as an edit or an extraction does. */
const quoting = [{ role: "user" as const, content: `Repeat after me: ${FIXTURE_SENTENCE} ${FIXTURE_SENTENCE}` }];

async function chat(server: TestServer, body: Record<string, unknown>): Promise<{ status: number; body: { error?: { code: string; param?: string; message?: string }; choices?: { message: { content: string } }[] } }> {
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fixture", messages: quoting, temperature: 0, cache: false, ...body }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name}{model="fixture"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("speculative decoding (prompt lookup)", () => {
  let speculative: TestServer;
  let plain: TestServer;

  beforeAll(async () => {
    speculative = await startTestServer({ loadDefaults: { contextSize: 1024, parallel: 2, speculative: "prompt-lookup" } });
    plain = await startTestServer({ loadDefaults: { contextSize: 1024, parallel: 2 } });
  });
  afterAll(async () => {
    await speculative?.dispose();
    await plain?.dispose();
  });

  it("gives exactly the output of plain decoding, with drafts accepted, counted in /metrics", async () => {
    const withDrafts = await chat(speculative, {});
    const without = await chat(plain, {});
    expect(withDrafts.status).toBe(200);
    expect(withDrafts.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    expect(withDrafts.body.choices?.[0]?.message.content).toBe(without.body.choices?.[0]?.message.content);

    const drafted = await metric(speculative, "marduk_speculative_drafted_tokens_total");
    const accepted = await metric(speculative, "marduk_speculative_accepted_tokens_total");
    expect(drafted).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(drafted);
    expect(await metric(plain, "marduk_speculative_drafted_tokens_total")).toBe(0);
  });

  it("streams the same text, and a request can turn it off", async () => {
    const before = await metric(speculative, "marduk_speculative_drafted_tokens_total");
    const off = await chat(speculative, { speculative: false });
    expect(off.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    expect(await metric(speculative, "marduk_speculative_drafted_tokens_total")).toBe(before);

    const response = await fetch(`${speculative.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: quoting, temperature: 0, cache: false, stream: true }),
    });
    const text = (await response.text())
      .split("\n\n")
      .filter((event) => event.startsWith("data: {"))
      .map((event) => (JSON.parse(event.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
      .join("");
    expect(text).toBe(FIXTURE_SENTENCE);
    expect(await metric(speculative, "marduk_speculative_drafted_tokens_total")).toBeGreaterThan(before);
  });

  it("a request asking for it on a model loaded without is refused, naming the option", async () => {
    const { status, body } = await chat(plain, { speculative: true });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: "invalid_value", param: "speculative" });
  });
});

describe("speculative decoding (draft model)", () => {
  let drafted: TestServer;
  let foreign: TestServer;
  const stories = sharedModelPath("stories260K.gguf");

  beforeAll(async () => {
    // The fixture copied under another id drafts for itself: the same vocabulary, every draft right.
    drafted = await startTestServer({ loadDefaults: { contextSize: 1024, parallel: 2, draftModel: "fixture-draft" } });
    copyFileSync(await getFixtureModelPath(), path.join(drafted.modelsDir, "fixture-draft.gguf"));
    foreign = await startTestServer({ loadDefaults: { contextSize: 1024, parallel: 2, draftModel: "stories" } });
    if (stories) copyFileSync(stories, path.join(foreign.modelsDir, "stories.gguf"));
  });
  afterAll(async () => {
    await drafted?.dispose();
    await foreign?.dispose();
  });

  it("gives exactly the plain output, with the draft's tokens checked and accepted, and says which draft runs", async () => {
    const answer = await chat(drafted, {});
    expect(answer.status).toBe(200);
    expect(answer.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    const draftedTokens = await metric(drafted, "marduk_speculative_drafted_tokens_total");
    const accepted = await metric(drafted, "marduk_speculative_accepted_tokens_total");
    expect(draftedTokens).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThanOrEqual(draftedTokens);

    const health = (await (await fetch(`${drafted.url}/health`)).json()) as { models: { id: string; loadOptions?: { speculative: string; draftModel?: string } }[] };
    expect(health.models.find((model) => model.id === "fixture")?.loadOptions).toMatchObject({ speculative: "draft", draftModel: "fixture-draft" });

    const off = await chat(drafted, { speculative: false });
    expect(off.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    expect(await metric(drafted, "marduk_speculative_drafted_tokens_total")).toBe(draftedTokens);
  });

  it.skipIf(!stories)("refuses a draft model of another vocabulary, and a model as its own draft", async () => {
    const mismatch = await chat(foreign, {});
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error).toMatchObject({ code: "invalid_value", param: "draftModel" });
    expect(mismatch.body.error?.message).toMatch(/cannot draft for 'fixture'/);

    const missing = await fetch(`${foreign.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories", messages: quoting, max_tokens: 4 }),
    });
    // stories with the default draft "stories" is itself: refused before anything loads.
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe("draftModel");
  });
});
