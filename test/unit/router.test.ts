import { describe, expect, it } from "vitest";
import type { GenerationResult } from "../../src/shared/api/generation.js";
import { ContextLengthExceededError, QueueFullError } from "../../src/core/errors.js";
import { GenerationStream } from "../../src/core/inference/GenerationStream.js";
import type { ModelCapabilities, Provider, ProviderGeneration } from "../../src/core/router/Provider.js";
import { ProviderRegistry } from "../../src/core/router/ProviderRegistry.js";
import { Router, type RoutedRequestRecord } from "../../src/core/router/Router.js";

const result = (text: string): GenerationResult => ({
  text,
  finishReason: "stop",
  usage: { promptTokens: 10, completionTokens: 2 },
  timings: { promptMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 100 },
});

/** A provider without a model behind it: answers its own name, or fails as told. */
class FakeProvider implements Provider {
  calls = 0;
  failWith: (() => Error) | undefined;
  readonly maxConcurrency = 8;
  constructor(
    readonly id: string,
    readonly kind: "local" | "remote",
    readonly price = { inputPerMillion: 0, outputPerMillion: 0 },
    private readonly capabilities: Partial<ModelCapabilities> = {},
  ) {}
  async listModels() {
    return [{ id: "m", capabilities: { chat: true, embeddings: true, tools: true, jsonSchema: true, ...this.capabilities } }];
  }
  private run(): ProviderGeneration {
    this.calls++;
    if (this.failWith) throw this.failWith();
    const stream = new GenerationStream();
    stream.markStarted();
    stream.push({ text: this.id, tokenCount: 1 });
    stream.end(result(this.id));
    return { modelId: "m", stream };
  }
  async chat() {
    return this.run();
  }
  async complete() {
    return this.run();
  }
  async embed() {
    this.calls++;
    return { embeddings: [[1]], promptTokens: 1, modelId: "m" };
  }
  async checkHealth() {}
  dispose() {}
}

function setup(remoteCapabilities: Partial<ModelCapabilities> = {}) {
  const registry = new ProviderRegistry({ healthIntervalMs: 0 });
  const local = new FakeProvider("local", "local");
  const remote = new FakeProvider("remote", "remote", { inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 }, remoteCapabilities);
  registry.set(local, "local");
  registry.set(remote, "config");
  const records: RoutedRequestRecord[] = [];
  const router = new Router({ registry, onRecord: (record) => records.push(record) });
  return { registry, local, remote, router, records };
}

const hi = [{ role: "user" as const, content: "Hi" }];

describe("Router", () => {
  it("falls back from this machine when the prompt is too long for its context, or its queue is full", async () => {
    const t = setup();
    t.local.failWith = () => new ContextLengthExceededError(5000, 0, 2048);
    expect((await t.router.chat("m", hi, {})).provider).toBe("remote");
    t.local.failWith = () => new QueueFullError(1);
    expect((await t.router.chat("m", hi, {})).provider).toBe("remote");
    t.local.failWith = undefined;
    expect((await t.router.chat("m", hi, {})).provider).toBe("local");
  });

  it("with a single target, returns its error as it is (a 429 stays a 429)", async () => {
    const t = setup();
    t.local.failWith = () => new QueueFullError(3);
    await expect(t.router.chat("m", hi, { routing: { localOnly: true } })).rejects.toBeInstanceOf(QueueFullError);
    expect(t.remote.calls).toBe(0);
  });

  it("leaves out targets that cannot serve the request before picking", async () => {
    const t = setup({ tools: false, jsonSchema: false, embeddings: false, contextLength: 100 });
    t.local.failWith = () => new ContextLengthExceededError(5000, 0, 2048);
    const tools = [{ name: "f", parameters: { type: "object" } }];
    await expect(t.router.chat("m", hi, { tools, toolChoice: "required" })).rejects.toMatchObject({ code: "context_length_exceeded" });
    expect(t.remote.calls).toBe(0);
    await expect(t.router.chat("m", [{ role: "user", content: "x".repeat(1000) }], {})).rejects.toMatchObject({ code: "context_length_exceeded" });
    expect(t.remote.calls).toBe(0);
    t.local.failWith = undefined;
    expect((await t.router.embed("m", ["a"], {})).provider).toBe("local");
  });

  it("records usage with cost at the serving price and the saving at the remote's", async () => {
    const t = setup();
    await (await t.router.chat("m", hi, {})).stream.collect();
    t.local.failWith = () => new QueueFullError(1);
    await (await t.router.chat("m", hi, {})).stream.collect();
    await new Promise((resolve) => setImmediate(resolve));
    expect(t.records.map((record) => [record.provider, record.failed, record.alternativePrice?.inputPerMillion])).toEqual([
      ["local", false, 1_000_000],
      ["remote", false, undefined],
    ]);
    expect(t.registry.outstanding("local") + t.registry.outstanding("remote")).toBe(0);
  });

  it("an unknown name is model_not_found; an alias to a missing provider target is left out", async () => {
    const registry = new ProviderRegistry({ healthIntervalMs: 0 });
    const router = new Router({ registry, routes: [{ alias: "a", targets: [{ provider: "ghost", model: "m" }] }] });
    await expect(router.chat("a", hi, {})).rejects.toMatchObject({ code: "model_not_found" });
    await expect(router.chat("unknown", hi, {})).rejects.toMatchObject({ code: "model_not_found" });
  });
});
