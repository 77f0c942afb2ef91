/**
 * Models run in model host processes: whatever kills a host (a native assert at load or while
 * generating, SIGKILL, a hang the watchdog ends) fails only that model's requests, with
 * model_load_failed or model_crashed and the host's last words; the server keeps answering, the
 * residency forgets the model, the next request loads it again, and a crash loop is held back.
 */
import { copyFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelResidency } from "../../src/core/engine/ModelResidency.js";
import { HostedModel } from "../../src/core/modelhost/HostedModel.js";
import { MODEL_HOST_FAULT_ENV } from "../../src/core/modelhost/modelHostApi.js";
import type { ResidencyEvent } from "../../src/shared/api/library.js";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { writeHostileModel } from "../helpers/hostileModels.js";
import { HELLO, postChat, readStreamWith } from "../helpers/sseStreams.js";
import { createTestCore, type TestCore } from "../helpers/testCore.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

/** Resolves with the first residency event that satisfies `predicate`. */
function nextEvent(residency: ModelResidency, predicate: (event: ResidencyEvent) => boolean): Promise<ResidencyEvent> {
  return new Promise((resolve) => {
    const listener = (event: ResidencyEvent): void => {
      if (!predicate(event)) return;
      residency.off("event", listener);
      resolve(event);
    };
    residency.on("event", listener);
  });
}

function hostOf(server: TestCore, id: string): HostedModel {
  const model = server.core.residency.get(id);
  if (!(model instanceof HostedModel)) throw new Error(`${id} is not loaded in a model host: ${JSON.stringify(server.core.residency.list())}`);
  return model;
}

describe("over HTTP, with the process host as the default", () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ loadDefaults: { contextSize: 2048, parallel: 2 } });
    for (const flaw of ["hugeBlockCount", "zeroHeadCount", "duplicateToken", "negativeNormEpsilon", "explosiveTemplate"] as const) {
      await writeHostileModel(path.join(server.modelsDir, `${flaw}.gguf`), flaw);
    }
  });
  afterAll(() => server?.dispose());

  it("serves the fixture from a host process, not from the server's", async () => {
    expect(server.core.modelHost).toBe("process");
    const { status, body } = await postChat(server.url, { model: "fixture" });
    expect(status).toBe(200);
    expect(body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    const model = hostOf(server, "fixture");
    expect(model.pid).toBeGreaterThan(0);
    expect(model.pid).not.toBe(process.pid);
    expect(model.info).toMatchObject({ id: "fixture", contextSize: 2048, parallel: 2, sequences: { size: 2, busy: 0, waiting: 0 } });
  });

  it("a crafted model that kills its host while loading fails with model_load_failed, and the server keeps answering", async () => {
    for (const flaw of ["hugeBlockCount", "zeroHeadCount", "duplicateToken"]) {
      const { status, body } = await postChat(server.url, { model: flaw });
      expect(status, flaw).toBe(500);
      expect(body.error?.code, flaw).toBe("model_load_failed");
      expect(body.error?.message, flaw).toMatch(new RegExp(`^Failed to load model '${flaw}': `));
      expect(server.core.residency.get(flaw), flaw).toBeUndefined();
    }
    // No check before llama.cpp catches a duplicated vocabulary entry: its host really died, and said why.
    const { body } = await postChat(server.url, { model: "duplicateToken" });
    expect(body.error?.message).toMatch(/its model host crashed while (estimating its memory|loading it): .*GGML_ASSERT\(id_to_token\.size\(\) == token_to_id\.size\(\)\) failed .*SIGABRT/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await postChat(server.url, { model: "fixture" })).body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
  });

  it("a native assert while generating fails that request with model_crashed and the assert's text", async () => {
    const { status, body } = await postChat(server.url, { model: "negativeNormEpsilon" });
    expect(status).toBe(500);
    expect(body.error?.code).toBe("model_crashed");
    expect(body.error?.message).toMatch(/^The model 'negativeNormEpsilon' crashed: .*GGML_ASSERT\(eps >= 0\.0f\) failed .*SIGABRT/);
    expect(server.core.residency.get("negativeNormEpsilon")).toBeUndefined();
    expect((await postChat(server.url, { model: "fixture" })).status).toBe(200);
  });

  it("a chat template that kills V8 kills only its host, with V8's last words", async () => {
    const { status, body } = await postChat(server.url, { model: "explosiveTemplate" });
    expect(status).toBe(500);
    expect(["model_load_failed", "model_crashed"]).toContain(body.error?.code);
    // V8 ends the process with SIGTRAP or SIGILL, depending on how it runs.
    expect(body.error?.message).toMatch(/: Fatal JavaScript invalid size error \d+ .*\(the model host was killed by SIG[A-Z]+\)$/);
    expect((await postChat(server.url, { model: "fixture" })).status).toBe(200);
  });

  it("SIGKILL of the host during a stream gives that client OpenAI's error in the stream; the next request reloads and succeeds", async () => {
    const { residency } = server.core;
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: HELLO, temperature: 0, stream: true, ignore_eos: true, max_tokens: 2000 }),
    });
    expect(response.status).toBe(200);
    const killed = hostOf(server, "fixture");
    const forgotten = nextEvent(residency, (event) => event.type === "unloaded" && event.id === "fixture");
    const text = await readStreamWith(response, () => process.kill(killed.pid!, "SIGKILL"));
    const events = text
      .split("\n\n")
      .filter((event) => event.startsWith("data: ") && event !== "data: [DONE]")
      .map((event) => JSON.parse(event.slice(6)) as { error?: { code: string; message: string; type: string } });
    const error = events.at(-1)?.error;
    expect(error).toMatchObject({ code: "model_crashed", type: "server_error" });
    expect(error?.message).toMatch(/^The model 'fixture' crashed: .*killed by SIGKILL/);
    expect(await forgotten).toEqual({ type: "unloaded", id: "fixture", reason: "crashed" });
    expect(residency.usedMemory).toEqual({ ramBytes: 0, vramBytes: 0 });

    const again = await postChat(server.url, { model: "fixture" });
    expect(again.status).toBe(200);
    expect(again.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    expect(hostOf(server, "fixture").pid).not.toBe(killed.pid);
  });
});

describe("the watchdog", () => {
  let testCore: TestCore;

  beforeAll(async () => {
    testCore = createTestCore({
      watchModels: false,
      loadDefaults: { contextSize: 2048, parallel: 1 },
      // A host that stops answering pings once its model is loaded (a test-only fault).
      modelHostOptions: { env: { [MODEL_HOST_FAULT_ENV]: "ignore-pings" }, watchdog: { intervalMs: 100, timeoutMs: 1000 } },
    });
    await copyFile(await getFixtureModelPath(), path.join(testCore.modelsDir, "fixture.gguf"));
  });
  afterAll(() => testCore?.dispose());

  it("kills a host that stops answering; its requests fail with model_crashed and the reason", async () => {
    const { residency } = testCore.core;
    const lease = await residency.acquire("fixture");
    try {
      const crashed = nextEvent(residency, (event) => event.type === "unloaded");
      // Long enough (seconds) for the watchdog to end it.
      const stream = lease.model.chat(HELLO, { temperature: 0, ignoreEos: true, maxTokens: 2000 });
      const error = await stream.collect().then(
        () => new Error("the generation ended"),
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: "model_crashed" });
      expect((error as Error).message).toMatch(/^The model 'fixture' crashed: the model host stopped answering for \d+ s and was killed by the watchdog$/);
      expect(await crashed).toEqual({ type: "unloaded", id: "fixture", reason: "crashed" });
    } finally {
      lease.release();
    }
  });
});

describe("the crash backoff", () => {
  let testCore: TestCore;
  let now = 0;

  beforeAll(async () => {
    testCore = createTestCore({
      watchModels: false,
      loadDefaults: { contextSize: 256, parallel: 1 },
      modelHostOptions: { crashBackoff: { initialDelayMs: 1000, maxDelayMs: 4000, now: () => now } },
    });
    await writeHostileModel(path.join(testCore.modelsDir, "crashy.gguf"), "negativeNormEpsilon");
  });
  afterAll(() => testCore?.dispose());

  /** One chat with the model that always crashes on its first decode: the error it fails with. */
  const attempt = (): Promise<{ code: string; message: string }> =>
    testCore.core.inference.chat("crashy", HELLO, { temperature: 0, maxTokens: 4 }).then(
      () => {
        throw new Error("the chat succeeded");
      },
      (error: { code: string; message: string }) => error,
    );

  it("reloads at once after one crash, then holds the model back 1 s, 2 s, 4 s, 4 s with model_crashed", async () => {
    expect((await attempt()).message).toMatch(/^The model 'crashy' crashed: .*GGML_ASSERT/);
    // One crash is an accident: loaded again at once, and it crashes again.
    expect((await attempt()).message).toMatch(/^The model 'crashy' crashed: .*GGML_ASSERT/);
    const held = await attempt();
    expect(held.code).toBe("model_crashed");
    expect(held.message).toMatch(/^The model 'crashy' crashed 2 times; retry in 1 s \(last: .*GGML_ASSERT/);
    now += 999;
    expect((await attempt()).message).toMatch(/crashed 2 times; retry in 1 s/);
    /** Once the wait is over, the model loads (and crashes) again, and the next wait is longer. */
    const loadsAgainAfter = async (ms: number, crashes: number, seconds: number): Promise<void> => {
      now += ms;
      expect((await attempt()).message).toMatch(/^The model 'crashy' crashed: /);
      expect((await attempt()).message).toMatch(new RegExp(`^The model 'crashy' crashed ${crashes} times; retry in ${seconds} s`));
    };
    await loadsAgainAfter(1, 3, 2);
    await loadsAgainAfter(2000, 4, 4);
    await loadsAgainAfter(4000, 5, 4);
  });
});
