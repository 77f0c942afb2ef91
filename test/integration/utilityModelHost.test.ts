/**
 * The desktop app runs model hosts as Electron utility processes (src/main/utilityModelHost.ts):
 * the RPC channel is the process's message port, the host picks `process.parentPort`, Electron
 * reports only exit codes, and `kill()` only sends SIGTERM. Electron cannot run here, so a
 * stand-in for `utilityProcess.fork` on child_process.fork (test/fixtures/utilityProcess) drives
 * the real spawner, the real host entry and the real model through the real server.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpawnedHost, SpawnModelHost } from "../../src/core/modelhost/ModelHostProcess.js";
import { modelHostEntry } from "../../src/core/modelhost/ModelHostProcess.js";
import { HostedModel } from "../../src/core/modelhost/HostedModel.js";
import { utilityProcessSpawner } from "../../src/main/utilityModelHost.js";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/index.js";
import { forkFakeUtilityProcess } from "../fixtures/utilityProcess/fakeUtilityProcess.js";
import { writeHostileModel } from "../helpers/hostileModels.js";
import { HELLO, postChat, readStreamWith } from "../helpers/sseStreams.js";
import { startTestServer, type TestServer } from "../helpers/testServer.js";

describe("model hosts in (stand-in) Electron utility processes", () => {
  let server: TestServer;
  const spawned: SpawnedHost[] = [];

  beforeAll(async () => {
    const { entry, execArgv } = modelHostEntry(new URL("../../src/core/modelhost/ModelHostProcess.ts", import.meta.url).href);
    const utilitySpawner = utilityProcessSpawner({ fork: forkFakeUtilityProcess, entry, execArgv });
    const spawnHost: SpawnModelHost = (options) => {
      const host = utilitySpawner(options);
      spawned.push(host);
      return host;
    };
    server = await startTestServer({ loadDefaults: { contextSize: 2048, parallel: 2 }, coreOptions: { modelHostOptions: { spawnHost } } });
    await writeHostileModel(path.join(server.modelsDir, "explosiveTemplate.gguf"), "explosiveTemplate");
  });
  afterAll(() => server?.dispose());

  function hostedFixture(): HostedModel {
    const model = server.core.residency.get("fixture");
    if (!(model instanceof HostedModel)) throw new Error("the fixture is not loaded in a model host");
    return model;
  }

  it("serves the fixture from a utility process over its message port, and an unload ends the process cleanly", async () => {
    const { status, body } = await postChat(server.url, { model: "fixture" });
    expect(status).toBe(200);
    expect(body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    const host = spawned.at(-1)!;
    expect(hostedFixture().pid).toBe(host.pid);
    expect(host.pid).not.toBe(process.pid);

    expect(await server.core.residency.unload("fixture")).toBe(true);
    // The close message made the host exit by itself: no signal was needed.
    expect(await host.exited).toEqual({ code: 0, signal: null });
  });

  it("SIGKILL of the host during a stream gives that client model_crashed; the next request loads it again", async () => {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fixture", messages: HELLO, temperature: 0, stream: true, ignore_eos: true, max_tokens: 2000 }),
    });
    expect(response.status).toBe(200);
    const killed = hostedFixture().pid!;
    const text = await readStreamWith(response, () => process.kill(killed, "SIGKILL"));
    const last = JSON.parse(text.trim().split("\n\n").at(-1)!.slice("data: ".length)) as { error?: { code: string } };
    expect(last.error?.code).toBe("model_crashed");

    const again = await postChat(server.url, { model: "fixture" });
    expect(again.body.choices?.[0]?.message.content).toBe(FIXTURE_SENTENCE);
    expect(hostedFixture().pid).not.toBe(killed);
  });

  it("a template that kills V8 ends only its utility process, with V8's last words in the error", async () => {
    const { status, body } = await postChat(server.url, { model: "explosiveTemplate" });
    expect(status).toBe(500);
    expect(["model_load_failed", "model_crashed"]).toContain(body.error?.code);
    expect(body.error?.message).toMatch(/Fatal JavaScript invalid size error/);
    expect((await postChat(server.url, { model: "fixture" })).status).toBe(200);
  });
});
