/** The model host's parts that need no process: crash backoff, last words, delta batching, the IPC transport and the generic RPC. */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { fromErrorPayload, InvalidArgumentError, MardukError, ModelLoadFailedError, ModelNotFoundError, QueueFullError } from "../../src/core/errors.js";
import { CrashBackoff } from "../../src/core/modelhost/CrashBackoff.js";
import { DeltaBatcher } from "../../src/core/modelhost/DeltaBatcher.js";
import { describeHostExit, OutputTail, pickLastWords } from "../../src/core/modelhost/hostLastWords.js";
import type { EventSource } from "../../src/shared/contract/common.js";
import type { GenerationDelta } from "../../src/shared/api/generation.js";
import {
  createProcessChannelTransport,
  createRpcClientFor,
  createRpcServerFor,
  RpcError,
  type RpcMembers,
} from "../../src/shared/rpc/index.js";

describe("CrashBackoff", () => {
  it("lets one crash reload at once, then waits 1 s, 2 s, 4 s ... up to the maximum", () => {
    let now = 0;
    const backoff = new CrashBackoff({ initialDelayMs: 1000, maxDelayMs: 8000, now: () => now });
    expect(backoff.hold("m")).toBeUndefined();
    backoff.recordCrash("m", "run", "boom");
    expect(backoff.hold("m")).toBeUndefined();
    backoff.recordCrash("m", "run", "boom again");
    expect(backoff.hold("m")).toEqual({ crashes: 2, retryInMs: 1000, phase: "run", reason: "boom again" });
    now = 999;
    expect(backoff.hold("m")?.retryInMs).toBe(1);
    now = 1000;
    expect(backoff.hold("m")).toBeUndefined();
    expect([2, 3, 4, 5, 6, 40].map((crashes) => backoff.delayAfter(crashes))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    // Per model.
    expect(backoff.hold("other")).toBeUndefined();
  });

  it("forgets a model that has not crashed for a while", () => {
    let now = 0;
    const backoff = new CrashBackoff({ forgetAfterMs: 60_000, now: () => now });
    backoff.recordCrash("m", "load", "x");
    backoff.recordCrash("m", "load", "x");
    expect(backoff.crashesOf("m")).toBe(2);
    now = 61_000;
    expect(backoff.crashesOf("m")).toBe(0);
    backoff.recordCrash("m", "load", "y");
    expect(backoff.hold("m")).toBeUndefined();
  });
});

describe("a host's last words", () => {
  it("picks llama.cpp's assert once (every thread prints it), without the build machine's directories", () => {
    const lines = [
      '{"level":30,"msg":"not raw"}',
      "/home/runner/work/node-llama-cpp/llama/llama.cpp/ggml/src/ggml-cpu/ops.cpp:3949: GGML_ASSERT(eps >= 0.0f) failed",
      "/home/runner/work/node-llama-cpp/llama/llama.cpp/ggml/src/ggml-cpu/ops.cpp:3949: GGML_ASSERT(eps >= 0.0f) failed",
    ];
    expect(pickLastWords(lines)).toEqual(["ops.cpp:3949: GGML_ASSERT(eps >= 0.0f) failed"]);
    expect(describeHostExit({ code: null, signal: "SIGABRT", lastLines: lines, expected: false })).toBe(
      "ops.cpp:3949: GGML_ASSERT(eps >= 0.0f) failed (the model host was killed by SIGABRT)",
    );
  });

  it("picks V8's fatal error out of its frame and stack trace", () => {
    const lines = ["", "#", "# Fatal error in , line 0", "# Fatal JavaScript invalid size error 169220804", "#", "#FailureMessage Object: 0x7ffd", "----- Native stack trace -----", " 1: 0xe1a6b1  [node]"];
    expect(pickLastWords(lines)).toEqual(["Fatal JavaScript invalid size error 169220804"]);
  });

  it("says how the host ended when it said nothing notable", () => {
    expect(describeHostExit({ code: null, signal: "SIGKILL", lastLines: [], expected: false })).toBe("the model host was killed by SIGKILL (out of memory?)");
    expect(describeHostExit({ code: 3, signal: null, lastLines: ["loading", "bye"], expected: false })).toBe("bye (the model host exited with code 3)");
    expect(describeHostExit({ code: null, signal: "SIGKILL", lastLines: [], killedBecause: "the watchdog", expected: false })).toBe("the watchdog");
  });

  it("splits output into lines, keeps a bounded tail and an unfinished last line", () => {
    const tail = new OutputTail(2, 10);
    const lines: string[] = [];
    tail.write("one\ntwo\r\nthr", (line) => lines.push(line));
    tail.write("ee\nfour-is-longer-than-ten\nfive", (line) => lines.push(line));
    expect(lines).toEqual(["one", "two", "three", "four-is-lo"]);
    for (const line of lines) tail.keep(line);
    expect(tail.snapshot()).toEqual(["three", "four-is-lo", "five"]);
  });
});

describe("errors from a host", () => {
  it("come back as the core's own classes, with the host's message and param", () => {
    const loadFailed = fromErrorPayload({ code: "model_load_failed", message: "Failed to load model 'x': not a valid GGUF file" });
    expect(loadFailed).toBeInstanceOf(ModelLoadFailedError);
    expect(loadFailed.message).toBe("Failed to load model 'x': not a valid GGUF file");
    expect(fromErrorPayload({ code: "model_not_found", message: "The model 'x' does not exist", param: "model" })).toBeInstanceOf(ModelNotFoundError);
    expect(fromErrorPayload({ code: "invalid_argument", message: "bad", param: "temperature" })).toMatchObject({ constructor: InvalidArgumentError, param: "temperature" });
    expect(fromErrorPayload({ code: "queue_full", message: "busy", retryAfterSeconds: 3 })).toMatchObject({ constructor: QueueFullError, retryAfterSeconds: 3, message: "busy" });
    const other = fromErrorPayload({ code: "context_length_exceeded", message: "too long", param: "messages" });
    expect(other).toBeInstanceOf(MardukError);
    expect(other.toPayload()).toEqual({ code: "context_length_exceeded", message: "too long", param: "messages" });
  });
});

describe("DeltaBatcher", () => {
  it("sends the first delta at once and gathers the rest until the flush", () => {
    const sent: GenerationDelta[][] = [];
    const scheduled: (() => void)[] = [];
    const batcher = new DeltaBatcher((deltas) => sent.push(deltas), (flush) => scheduled.push(flush));
    const delta = (text: string): GenerationDelta => ({ text, tokenCount: 1 });
    batcher.push(delta("a"));
    expect(sent).toEqual([[delta("a")]]);
    batcher.push(delta("b"));
    batcher.push(delta("c"));
    expect(scheduled).toHaveLength(1);
    scheduled.shift()!();
    expect(sent).toEqual([[delta("a")], [delta("b"), delta("c")]]);
    batcher.push(delta("d"));
    batcher.flush();
    expect(sent.at(-1)).toEqual([delta("d")]);
    // The scheduled flush finds nothing left.
    scheduled.shift()!();
    expect(sent).toHaveLength(3);
  });
});

/** One end of a fake IPC channel: what it sends, its peer receives (structured clone, on a later turn). */
class FakeChannelEnd extends EventEmitter {
  connected = true;
  peer: FakeChannelEnd | undefined;

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    const copy = structuredClone(message);
    setImmediate(() => {
      this.peer?.emit("message", copy);
      callback(null);
    });
    return true;
  }

  disconnect(): void {
    this.end();
    this.peer?.end();
  }

  /** This side learns that the channel is gone (the other process exited). */
  end(): void {
    if (!this.connected) return;
    this.connected = false;
    setImmediate(() => this.emit("disconnect"));
  }
}

function channelPair(): [FakeChannelEnd, FakeChannelEnd] {
  const parent = new FakeChannelEnd();
  const child = new FakeChannelEnd();
  parent.peer = child;
  child.peer = parent;
  return [parent, child];
}

interface TestApi {
  math: {
    double(request: { value: number }): Promise<{ value: number; bytes: Uint8Array }>;
    busy(request: Record<string, never>): Promise<void>;
    onTick: EventSource<number>;
  };
}
const TEST_MEMBERS = { math: { calls: ["double", "busy"], events: ["onTick"] } } as const satisfies RpcMembers<TestApi>;

describe("RPC over an IPC channel", () => {
  it("carries calls, events and errors (with their retry hint) of any API described by its members", async () => {
    const [parentEnd, childEnd] = channelPair();
    const ticks = new Set<(tick: number) => void>();
    const api: TestApi = {
      math: {
        double: async ({ value }) => ({ value: value * 2, bytes: new Uint8Array([value]) }),
        busy: async () => {
          throw new QueueFullError(7);
        },
        onTick: (listener) => {
          ticks.add(listener);
          return () => ticks.delete(listener);
        },
      },
    };
    createRpcServerFor(TEST_MEMBERS, api, createProcessChannelTransport(childEnd));
    const client = createRpcClientFor<TestApi>(TEST_MEMBERS, createProcessChannelTransport(parentEnd));
    // Structured clone keeps typed arrays.
    expect(await client.math.double({ value: 21 })).toEqual({ value: 42, bytes: new Uint8Array([21]) });
    const received: number[] = [];
    client.math.onTick((tick) => received.push(tick));
    await client.math.double({ value: 0 });
    for (const listener of ticks) listener(1);
    const error = await client.math.busy({}).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RpcError);
    expect((error as RpcError).toPayload()).toEqual({ code: "queue_full", message: "Too many requests are waiting for this model; retry later", retryAfterSeconds: 7 });
    expect(fromErrorPayload((error as RpcError).toPayload())).toMatchObject({ code: "queue_full", retryAfterSeconds: 7 });
    expect(received).toEqual([1]);
    expect((client as unknown as Record<string, unknown>).host).toBeUndefined();

    // The other process is gone: pending and later calls fail, the client is closed.
    const pending = client.math.double({ value: 1 });
    childEnd.end();
    parentEnd.end();
    await expect(pending).rejects.toMatchObject({ code: "aborted" });
    expect(client.closed).toBe(true);
  });

  it("drops messages that are not RPC envelopes", async () => {
    const [parentEnd, childEnd] = channelPair();
    const transport = createProcessChannelTransport(parentEnd);
    const received: unknown[] = [];
    transport.onMessage((message) => received.push(message));
    childEnd.send("hello", () => undefined);
    childEnd.send({ type: "event", id: 1, payload: 2 }, () => undefined);
    await new Promise<void>((resolve) => transport.onMessage(() => resolve()));
    expect(received).toEqual([{ type: "event", id: 1, payload: 2 }]);
  });
});
