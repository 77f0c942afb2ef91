import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { startServeProcess, type ServeProcess } from "../helpers/serveProcess.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

let server: TestServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startTestServer();
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server?.dispose());

function chatLines(count: number, prefix = "req", extra: string[] = []): string {
  const lines = Array.from({ length: count }, (_, index) =>
    JSON.stringify({ custom_id: `${prefix}-${index}`, method: "POST", url: "/v1/chat/completions", body: { model: "fixture", messages: [{ role: "user", content: `Hello ${index}` }], temperature: 0 } }),
  );
  return [...lines, ...extra].join("\n") + "\n";
}

async function upload(openai: OpenAI, content: string) {
  return openai.files.create({ file: await toFile(Buffer.from(content), "batch.jsonl"), purpose: "batch" });
}

/** Polls a batch (the Batch API has no events) until `accept` holds. */
async function pollBatch(openai: OpenAI, id: string, accept: (batch: OpenAI.Batch) => boolean, timeoutMs = 60_000): Promise<OpenAI.Batch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await openai.batches.retrieve(id);
    if (accept(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} (${JSON.stringify(batch.request_counts)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface OutputLine {
  custom_id: string;
  response: { status_code: number; body: { object?: string; choices: Array<{ message: { content: string } }> } };
  error: unknown;
}

async function jsonlOf(openai: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (!fileId) return [];
  const text = await (await openai.files.content(fileId)).text();
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

describe("the Batch API with the official openai client", () => {
  it("uploads a 50-line file, runs the batch to completion and returns every answer once", async () => {
    const file = await upload(client, chatLines(50));
    expect(file).toMatchObject({ object: "file", purpose: "batch", filename: "batch.jsonl" });
    expect((await client.files.retrieve(file.id)).bytes).toBe(file.bytes);
    expect((await client.files.list()).data.map((listed) => listed.id)).toContain(file.id);

    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { job: "test" } });
    expect(batch).toMatchObject({ object: "batch", status: "validating", metadata: { job: "test" } });
    const done = await pollBatch(client, batch.id, (current) => current.status === "completed");
    expect(done.request_counts).toEqual({ total: 50, completed: 50, failed: 0 });
    expect(done.error_file_id).toBeNull();
    expect(done.completed_at).toBeGreaterThan(0);

    const output = await jsonlOf(client, done.output_file_id);
    expect(output).toHaveLength(50);
    expect(new Set(output.map((line) => line.custom_id)).size).toBe(50);
    for (const line of output) {
      expect(line.response.status_code).toBe(200);
      expect(line.response.body.object).toBe("chat.completion");
      expect(line.response.body.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
      expect(line.error).toBeNull();
    }
    expect((await client.batches.list()).data.map((listed) => listed.id)).toContain(batch.id);
    expect(await client.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
  });

  it("puts a line the endpoint refuses into the error file", async () => {
    const bad = JSON.stringify({ custom_id: "bad", method: "POST", url: "/v1/chat/completions", body: { model: "fixture" } });
    const file = await upload(client, chatLines(2, "ok", [bad]));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const done = await pollBatch(client, batch.id, (current) => current.status === "completed");
    expect(done.request_counts).toEqual({ total: 3, completed: 2, failed: 1 });
    const errors = await jsonlOf(client, done.error_file_id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ custom_id: "bad", response: { status_code: 400, body: { error: { param: "messages" } } } });
    expect((await jsonlOf(client, done.output_file_id)).map((line) => line.custom_id).sort()).toEqual(["ok-0", "ok-1"]);
  });

  it("refuses an invalid input file at upload, naming the line", async () => {
    await expect(upload(client, chatLines(2) + chatLines(1))).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/Line 3: 'custom_id'/) });
    await expect(client.batches.create({ input_file_id: "file-missing", endpoint: "/v1/chat/completions", completion_window: "24h" })).rejects.toMatchObject({ status: 404 });
  });

  it("answers an interactive request at once while a batch runs, and cancels the batch", async () => {
    const file = await upload(client, chatLines(200, "long"));
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await pollBatch(client, batch.id, (current) => current.status === "in_progress" && current.request_counts!.completed > 0);
    const answer = await client.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Now" }], temperature: 0 });
    expect(answer.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
    // Answered while the batch still runs: it did not wait for the batch's lines.
    const during = await client.batches.retrieve(batch.id);
    expect(during.status).toBe("in_progress");
    expect(during.request_counts!.completed).toBeLessThan(200);

    const cancelling = await client.batches.cancel(batch.id);
    expect(["cancelling", "cancelled"]).toContain(cancelling.status);
    const cancelled = await pollBatch(client, batch.id, (current) => current.status === "cancelled");
    expect(cancelled.cancelled_at).toBeGreaterThan(0);
    const output = await jsonlOf(client, cancelled.output_file_id);
    expect(output).toHaveLength(cancelled.request_counts!.completed);
    expect(cancelled.request_counts!.completed).toBeLessThan(200);
  });

  it("reports batches and lines in /metrics", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/marduk_batches\{status="completed"\} [1-9]/);
    expect(text).toMatch(/marduk_batch_lines_total\{outcome="completed"\} [1-9]/);
    expect(text).toMatch(/marduk_batch_lines_total\{outcome="failed"\} 1/);
  });
});

describe("batch lines below interactive requests", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ loadDefaults: { parallel: 2 } });
  });
  afterAll(() => small?.dispose());

  /** A gauge of the fixture model in /metrics. */
  async function gauge(name: string): Promise<number> {
    const text = await (await fetch(`${small.url}/metrics`)).text();
    const match = new RegExp(`^${name}\\{model="fixture"\\} (\\d+)`, "m").exec(text);
    return match ? Number(match[1]) : -1;
  }

  it("leaves the last free sequence to an interactive request", async () => {
    const openai = new OpenAI({ baseURL: `${small.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const long = { model: "fixture", messages: [{ role: "user" as const, content: "Go on" }], max_tokens: 600, ignore_eos: true };
    // A long interactive generation holds one of the two sequences.
    const first = await openai.chat.completions.create({ ...long, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
    const iterator = first[Symbol.asyncIterator]();
    await iterator.next();
    let firstEnded = false;
    const drained = (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
      firstEnded = true;
    })();

    const lines = [0, 1].map((index) => JSON.stringify({ custom_id: `long-${index}`, method: "POST", url: "/v1/chat/completions", body: long }));
    const file = await upload(openai, lines.join("\n"));
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    // The batch line waits for a sequence although one is free: that one is kept for interactive work.
    await expect.poll(() => gauge("marduk_queue_depth"), { timeout: 20_000, interval: 20 }).toBe(1);
    expect(await gauge("marduk_active_sequences")).toBe(1);

    const answer = await openai.chat.completions.create({ model: "fixture", messages: [{ role: "user", content: "Quick" }], temperature: 0 });
    expect(answer.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
    // Answered while the long generation and the batch still wait or run: it queued behind neither.
    expect(firstEnded).toBe(false);
    expect((await openai.batches.retrieve(batch.id)).request_counts!.completed).toBe(0);

    await openai.batches.cancel(batch.id);
    first.controller.abort();
    await drained.catch(() => undefined);
    await pollBatch(openai, batch.id, (current) => current.status === "cancelled");
  }, 60_000);
});

describe("files and batches of each API key", () => {
  let keyed: TestServer;
  beforeAll(async () => {
    keyed = await startTestServer({ apiKeys: ["key-a-0123456789", "key-b-0123456789"], withFixture: false });
  });
  afterAll(() => keyed?.dispose());

  it("are seen only by the key that made them", async () => {
    const a = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: "key-a-0123456789", maxRetries: 0 });
    const b = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: "key-b-0123456789", maxRetries: 0 });
    const file = await upload(a, chatLines(1));
    await expect(b.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.files.content(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.files.delete(file.id)).rejects.toMatchObject({ status: 404 });
    expect((await b.files.list()).data).toEqual([]);
    await expect(b.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" })).rejects.toMatchObject({ status: 404 });
    const batch = await a.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    await expect(b.batches.retrieve(batch.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.batches.cancel(batch.id)).rejects.toMatchObject({ status: 404 });
    expect((await b.batches.list()).data).toEqual([]);
    expect((await a.batches.list()).data.map((listed) => listed.id)).toEqual([batch.id]);
    // No model here: the line fails, and its error file is the owner's too.
    const done = await pollBatch(a, batch.id, (current) => current.status === "completed");
    expect(done.request_counts).toMatchObject({ total: 1, failed: 1 });
    expect((await jsonlOf(a, done.error_file_id))[0]).toMatchObject({ response: { status_code: 404 } });
    await expect(b.files.content(done.error_file_id!)).rejects.toMatchObject({ status: 404 });
  });
});

describe("a batch across a crash of serve", () => {
  let dir: string;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "marduk-batch-restart-"));
    mkdirSync(path.join(dir, "models"));
    copyFileSync(await getFixtureModelPath(), path.join(dir, "models", "fixture.gguf"));
  });
  afterAll(async () => {
    await serve?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  const startServe = () => startServeProcess(["--models-dir", path.join(dir, "models"), "--data-dir", dir, "--parallel", "2"]);

  it("resumes after kill -9 and records every line exactly once", async () => {
    serve = await startServe();
    let openai = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const file = await upload(openai, chatLines(150, "crash"));
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const midway = await pollBatch(openai, batch.id, (current) => current.request_counts!.completed >= 3);
    expect(midway.status).toBe("in_progress");
    await serve.stop("SIGKILL");

    serve = await startServe();
    openai = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const resumed = await openai.batches.retrieve(batch.id);
    // Lines recorded before the crash are kept, not run again.
    expect(resumed.request_counts!.completed).toBeGreaterThanOrEqual(3);
    const done = await pollBatch(openai, batch.id, (current) => current.status === "completed", 90_000);
    expect(done.request_counts).toEqual({ total: 150, completed: 150, failed: 0 });
    const output = await jsonlOf(openai, done.output_file_id);
    expect(output).toHaveLength(150);
    expect(new Set(output.map((line) => line.custom_id)).size).toBe(150);
    for (const line of output) expect(line.response.body.choices[0]!.message.content).toBe(FIXTURE_SENTENCE);
  }, 120_000);
});
