import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseBatchInput } from "../../src/core/batches/batchInput.js";
import { BatchRunner, type BatchLineExecutor } from "../../src/core/batches/BatchRunner.js";
import { createSilentLogger } from "../../src/core/logger.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { BatchStore, type BatchObject } from "../../src/core/storage/BatchStore.js";
import { FileStore } from "../../src/core/storage/FileStore.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function jsonl(count: number, body: (index: number) => object = () => ({ model: "m", messages: [] })): Buffer {
  const lines = Array.from({ length: count }, (_, index) => JSON.stringify({ custom_id: `req-${index}`, method: "POST", url: "/v1/chat/completions", body: body(index) }));
  return Buffer.from(lines.join("\n") + "\n");
}

function open(file: string, execute: BatchLineExecutor) {
  const database = new AppDatabase(file);
  const files = new FileStore(database);
  const runner = new BatchRunner({ batches: new BatchStore(database), files, execute, logger: createSilentLogger() });
  runner.start();
  return {
    files,
    runner,
    async close() {
      await runner.dispose();
      database.dispose();
    },
  };
}

function until(runner: BatchRunner, id: string, accept: (batch: BatchObject) => boolean): Promise<BatchObject> {
  return new Promise((resolve) => {
    const check = (batch: BatchObject) => {
      if (batch.id === id && accept(batch)) {
        stop();
        resolve(batch);
      }
    };
    const stop = runner.onChange(check);
    const now = runner.get(id);
    if (now) check(now);
  });
}

const echo: BatchLineExecutor = async (line) =>
  (line.body as { bad?: boolean }).bad ? { statusCode: 400, body: { error: { message: "bad" } } } : { statusCode: 200, body: { echoed: line.custom_id } };

function outputLines(files: FileStore, id: string | null): Array<{ custom_id: string; response: { status_code: number; body: unknown } }> {
  if (!id) return [];
  return files.content(id)!.toString("utf8").trim().split("\n").map((line) => JSON.parse(line));
}

function tempDb(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "batch-runner-"));
  dirs.push(dir);
  return path.join(dir, "db.sqlite");
}

describe("batch input", () => {
  it("refuses duplicate custom_ids, unknown urls and non-JSON lines, naming the line", () => {
    expect(() => parseBatchInput(jsonl(2).toString() + jsonl(1).toString())).toThrow(/Line 3: 'custom_id' 'req-0'/);
    expect(() => parseBatchInput(`{"custom_id":"a","method":"POST","url":"/v1/images","body":{}}`)).toThrow(/Line 1: 'url'/);
    expect(() => parseBatchInput(`not json`)).toThrow(/Line 1: not valid JSON/);
    expect(() => parseBatchInput(jsonl(3).toString(), 2)).toThrow(/at most 2 lines/);
    expect(() => parseBatchInput("\n\n")).toThrow(/no requests/);
  });
});

describe("BatchRunner", () => {
  it("runs every line once, puts error answers in the error file and completes", async () => {
    const store = open(tempDb(), echo);
    const input = store.files.save({ id: "file-in", filename: "in.jsonl", purpose: "batch", content: jsonl(5, (index) => ({ bad: index === 3 })) });
    const created = store.runner.create({ input_file_id: input.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const done = await until(store.runner, created.id, (batch) => batch.status === "completed");
    expect(done.request_counts).toEqual({ total: 5, completed: 4, failed: 1 });
    expect(outputLines(store.files, done.output_file_id).map((line) => line.custom_id)).toEqual(["req-0", "req-1", "req-2", "req-4"]);
    expect(outputLines(store.files, done.error_file_id)).toMatchObject([{ custom_id: "req-3", response: { status_code: 400 } }]);
    await store.close();
  });

  it("fails a batch whose lines call another endpoint", async () => {
    const store = open(tempDb(), echo);
    store.files.save({ id: "file-in", filename: "in.jsonl", purpose: "batch", content: jsonl(2) });
    const created = store.runner.create({ input_file_id: "file-in", endpoint: "/v1/embeddings", completion_window: "24h" });
    const failed = await until(store.runner, created.id, (batch) => batch.status === "failed");
    expect(failed.errors?.data[0]).toMatchObject({ code: "mismatched_endpoint", line: 1 });
    await store.close();
  });

  it("cancels: the lines run so far are the output", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = open(tempDb(), async (line) => {
      if (line.custom_id === "req-1") await gate;
      return { statusCode: 200, body: {} };
    });
    store.files.save({ id: "file-in", filename: "in.jsonl", purpose: "batch", content: jsonl(4) });
    const created = store.runner.create({ input_file_id: "file-in", endpoint: "/v1/chat/completions", completion_window: "24h" });
    await until(store.runner, created.id, (batch) => batch.request_counts.completed === 1);
    expect(store.runner.cancel(created.id)?.status).toBe("cancelling");
    release();
    const cancelled = await until(store.runner, created.id, (batch) => batch.status === "cancelled");
    expect(cancelled.request_counts.completed).toBe(2);
    expect(outputLines(store.files, cancelled.output_file_id).map((line) => line.custom_id)).toEqual(["req-0", "req-1"]);
    await store.close();
  });

  it("resumes after a restart without running a recorded line again", async () => {
    const file = tempDb();
    const runs: string[] = [];
    let stopAt!: () => void;
    const reachedThird = new Promise<void>((resolve) => (stopAt = resolve));
    const first = open(file, async (line, signal) => {
      if (line.custom_id === "req-2") {
        stopAt();
        // Hangs until the runner stops (as a generation does when serve shuts down).
        await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
      }
      runs.push(line.custom_id);
      return { statusCode: 200, body: {} };
    });
    first.files.save({ id: "file-in", filename: "in.jsonl", purpose: "batch", content: jsonl(6) });
    const created = first.runner.create({ input_file_id: "file-in", endpoint: "/v1/chat/completions", completion_window: "24h" });
    await reachedThird;
    await first.close();
    expect(runs).toEqual(["req-0", "req-1"]);

    const second = open(file, async (line) => {
      runs.push(line.custom_id);
      return { statusCode: 200, body: {} };
    });
    const done = await until(second.runner, created.id, (batch) => batch.status === "completed");
    expect(runs).toEqual(["req-0", "req-1", "req-2", "req-3", "req-4", "req-5"]);
    expect(outputLines(second.files, done.output_file_id).map((line) => line.custom_id)).toEqual(["req-0", "req-1", "req-2", "req-3", "req-4", "req-5"]);
    await second.close();
  });

  it("runs a line refused by a full queue again instead of recording the refusal", async () => {
    let refusals = 1;
    const store = open(tempDb(), async () => (refusals-- > 0 ? { statusCode: 429, body: {}, retryAfterSeconds: 0 } : { statusCode: 200, body: {} }));
    store.files.save({ id: "file-in", filename: "in.jsonl", purpose: "batch", content: jsonl(1) });
    const created = store.runner.create({ input_file_id: "file-in", endpoint: "/v1/chat/completions", completion_window: "24h" });
    const done = await until(store.runner, created.id, (batch) => batch.status === "completed");
    expect(done.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
    await store.close();
  });
});
