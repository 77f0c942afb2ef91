/**
 * ModelResidency's logic (just-in-time loads, leases, TTL, LRU eviction, memory budget) with
 * a fake loader, a fake clock and a fake memory probe: no model, no timing.
 */
import { describe, expect, it } from "vitest";
import type { MemoryEstimate, ResidencyEvent } from "../../src/shared/api/library.js";
import { ModelCrashedError, ModelLoadFailedError, ModelNotFoundError, type MardukError } from "../../src/core/errors.js";
import {
  DEFAULT_KEEP_ALIVE_MS,
  ModelResidency,
  type MemorySnapshot,
  type ModelResidencyOptions,
  type ResidencyClock,
  type ResidencyLoader,
} from "../../src/core/engine/ModelResidency.js";

class FakeModel {
  disposed = false;
  private readonly crashListeners = new Set<(error: MardukError) => void>();
  constructor(readonly id: string) {}

  onCrashed(listener: (error: MardukError) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /** What a model host's death looks like to the residency. */
  crash(): void {
    for (const listener of this.crashListeners) listener(new ModelCrashedError(this.id, `The model '${this.id}' crashed`));
  }
}

/** A clock whose time moves only when the test says so. */
class FakeClock implements ResidencyClock {
  private time = 1_000_000;
  private nextHandle = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, timer]) => timer.at <= until).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
      await flush();
    }
    this.time = until;
    await flush();
  }
}

/** Lets pending promise callbacks run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

/** A loader with models of known sizes; loads finish when the test releases them (or at once). */
class FakeLoader implements ResidencyLoader<FakeModel> {
  readonly loaded = new Map<string, FakeModel>();
  readonly loadCalls: string[] = [];
  readonly unloadCalls: string[] = [];
  readonly abandoned: string[] = [];
  /** When set, loads wait for `finishLoads()`. */
  holdLoads = false;
  private held: (() => void)[] = [];
  failNextLoad: Error | undefined;

  constructor(private readonly sizes: Record<string, number>) {}

  resolveModel(ref: string): { id: string } {
    const id = ref.replace(/\.gguf$/, "");
    if (!(id in this.sizes)) throw new ModelNotFoundError(id);
    return { id };
  }

  /** Files register under their base name (as the engine names files outside the models dir). */
  resolveFile(filePath: string): { id: string } {
    const id = filePath.split("/").pop()!.replace(/\.gguf$/, "");
    if (!(id in this.sizes)) throw new ModelNotFoundError(id);
    return { id };
  }

  async loadModel(ref: string): Promise<FakeModel> {
    const { id } = ref.startsWith("/") ? this.resolveFile(ref) : this.resolveModel(ref);
    this.loadCalls.push(id);
    if (this.holdLoads) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failNextLoad) {
      const error = this.failNextLoad;
      this.failNextLoad = undefined;
      throw error;
    }
    const model = new FakeModel(id);
    this.loaded.set(id, model);
    return model;
  }

  finishLoads(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  async unloadModel(model: FakeModel): Promise<void> {
    this.unloadCalls.push(model.id);
    model.disposed = true;
    if (this.loaded.get(model.id) === model) this.loaded.delete(model.id);
  }

  abandonLoad(ref: string): void {
    this.abandoned.push(ref);
  }

  async estimateMemory(ref: string): Promise<MemoryEstimate> {
    return { ramBytes: this.sizes[(ref.startsWith("/") ? this.resolveFile(ref) : this.resolveModel(ref)).id]!, vramBytes: 0 };
  }
}

const plenty: MemorySnapshot = { freeRamBytes: 1e15, totalRamBytes: 1e15, freeVramBytes: 0, totalVramBytes: 0 };

function setup(sizes: Record<string, number>, options: ModelResidencyOptions = {}) {
  const loader = new FakeLoader(sizes);
  const clock = new FakeClock();
  let snapshot = plenty;
  const residency = new ModelResidency(loader, {
    clock,
    memoryProbe: async () => snapshot,
    ramHeadroomBytes: 0,
    ...options,
  });
  const events: ResidencyEvent[] = [];
  residency.on("event", (event) => events.push(event));
  return {
    loader,
    clock,
    residency,
    events,
    setSnapshot: (next: MemorySnapshot) => (snapshot = next),
  };
}

const MINUTE = 60_000;

describe("just-in-time loading", () => {
  it("three concurrent acquires of an unloaded model load it exactly once", async () => {
    const { loader, residency, events } = setup({ a: 100 });
    loader.holdLoads = true;
    const acquiring = [residency.acquire("a"), residency.acquire("a"), residency.acquire("a.gguf")];
    await flush();
    loader.finishLoads();
    const leases = await Promise.all(acquiring);
    expect(loader.loadCalls).toEqual(["a"]);
    expect(new Set(leases.map((lease) => lease.model)).size).toBe(1);
    expect(events.filter((event) => event.type === "loaded")).toHaveLength(1);
    expect(residency.list()[0]).toMatchObject({ id: "a", state: "loaded", activeRequests: 3 });
    for (const lease of leases) lease.release();
    expect(residency.list()[0]).toMatchObject({ activeRequests: 0 });
  });

  it("an unknown model fails without a load", async () => {
    const { loader, residency } = setup({ a: 100 });
    await expect(residency.acquire("nope")).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(loader.loadCalls).toEqual([]);
  });

  it("a failed load is reported to every waiter, and the next request tries again", async () => {
    const { loader, residency, events } = setup({ a: 100 });
    loader.holdLoads = true;
    loader.failNextLoad = new ModelLoadFailedError("a", "not a valid GGUF file");
    const first = residency.acquire("a");
    const second = residency.acquire("a");
    await flush();
    loader.finishLoads();
    await expect(first).rejects.toThrow("not a valid GGUF file");
    await expect(second).rejects.toThrow("not a valid GGUF file");
    expect(residency.list()).toEqual([]);
    expect(events.map((event) => event.type)).toEqual(["loading", "load_failed"]);
    loader.holdLoads = false;
    const lease = await residency.acquire("a");
    expect(lease.model.id).toBe("a");
    expect(loader.loadCalls).toEqual(["a", "a"]);
  });

  it("wraps a loader's plain error in a ModelLoadFailedError", async () => {
    const { loader, residency } = setup({ a: 100 });
    loader.failNextLoad = new Error("boom");
    await expect(residency.acquire("a")).rejects.toBeInstanceOf(ModelLoadFailedError);
  });

  it("requests name ids; a file from elsewhere loads only once registered by the operator", async () => {
    const { loader, residency } = setup({ a: 100, outside: 100 });
    loader.resolveModel = (ref: string) => {
      if (ref.startsWith("/")) throw new ModelNotFoundError(ref);
      return FakeLoader.prototype.resolveModel.call(loader, ref);
    };
    await expect(residency.acquire("/elsewhere/outside.gguf")).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(loader.loadCalls).toEqual([]);
    expect(residency.registerFile("/elsewhere/outside.gguf")).toBe("outside");
    const lease = await residency.acquire("outside");
    expect(lease.model.id).toBe("outside");
    expect(loader.loadCalls).toEqual(["outside"]);
    lease.release();
  });

  it("is the one registry of loaded models: get() and loadedModels() see only what is loaded", async () => {
    const { loader, residency } = setup({ a: 100, b: 100 });
    loader.holdLoads = true;
    const pending = residency.acquire("a");
    await flush();
    expect(residency.get("a")).toBeUndefined();
    loader.finishLoads();
    const lease = await pending;
    expect(residency.get("a")).toBe(lease.model);
    expect(residency.get("a.gguf")).toBe(lease.model);
    loader.holdLoads = false;
    (await residency.acquire("b")).release();
    expect(residency.loadedModels().map((model) => model.id)).toEqual(["b", "a"]);
    lease.release();
    await residency.unload("a");
    expect(residency.get("a")).toBeUndefined();
    expect(residency.loadedModels().map((model) => model.id)).toEqual(["b"]);
  });
});

describe("crashes", () => {
  it("forgets a model whose host crashed at once, frees its memory, and loads it again on the next request", async () => {
    const { loader, clock, residency, events } = setup({ a: 100 });
    const lease = await residency.acquire("a");
    const model = lease.model;
    model.crash();
    await flush();
    expect(events.at(-1)).toEqual({ type: "unloaded", id: "a", reason: "crashed" });
    expect(residency.get("a")).toBeUndefined();
    expect(residency.list()).toEqual([]);
    expect(residency.usedMemory).toEqual({ ramBytes: 0, vramBytes: 0 });
    expect(model.disposed).toBe(true);
    // The request that held it ends later: nothing is scheduled for a model already gone.
    lease.release();
    expect(clock.pending).toBe(0);
    const again = await residency.acquire("a");
    expect(again.model).not.toBe(model);
    expect(loader.loadCalls).toEqual(["a", "a"]);
    // Crash news of the old model no longer matters.
    model.crash();
    await flush();
    expect(residency.get("a")).toBe(again.model);
    again.release();
  });
});

describe("idle TTL", () => {
  it("unloads an idle model after the default 15 minutes, not before", async () => {
    const { loader, clock, residency, events } = setup({ a: 100 });
    (await residency.acquire("a")).release();
    expect(residency.list()[0]).toMatchObject({ keepAliveMs: DEFAULT_KEEP_ALIVE_MS, expiresAt: clock.now() + DEFAULT_KEEP_ALIVE_MS });
    await clock.advance(DEFAULT_KEEP_ALIVE_MS - 1);
    expect(loader.loaded.has("a")).toBe(true);
    await clock.advance(1);
    expect(loader.loaded.has("a")).toBe(false);
    expect(residency.list()).toEqual([]);
    expect(events.at(-1)).toEqual({ type: "unloaded", id: "a", reason: "idle" });
  });

  it("never unloads a leased model, and starts the TTL when the last lease ends", async () => {
    const { loader, clock, residency } = setup({ a: 100 }, { keepAliveMs: MINUTE });
    const first = await residency.acquire("a");
    const second = await residency.acquire("a");
    await clock.advance(10 * MINUTE);
    first.release();
    first.release(); // idempotent
    await clock.advance(10 * MINUTE);
    expect(loader.loaded.has("a")).toBe(true);
    expect(clock.pending).toBe(0);
    second.release();
    await clock.advance(MINUTE - 1);
    expect(loader.loaded.has("a")).toBe(true);
    await clock.advance(1);
    expect(loader.loaded.has("a")).toBe(false);
  });

  it("a new request cancels the pending unload", async () => {
    const { loader, clock, residency } = setup({ a: 100 }, { keepAliveMs: MINUTE });
    (await residency.acquire("a")).release();
    await clock.advance(MINUTE / 2);
    const lease = await residency.acquire("a");
    await clock.advance(2 * MINUTE);
    expect(loader.loaded.has("a")).toBe(true);
    lease.release();
    await clock.advance(MINUTE);
    expect(loader.loaded.has("a")).toBe(false);
    expect(loader.loadCalls).toEqual(["a"]);
  });

  it("keepAliveMs per request: 0 unloads when idle, negative keeps it forever, a value sets the next TTL", async () => {
    const { loader, clock, residency } = setup({ a: 100, b: 100, c: 100 });
    (await residency.acquire("a", { keepAliveMs: 0 })).release();
    await flush();
    expect(loader.loaded.has("a")).toBe(false);

    (await residency.acquire("b", { keepAliveMs: -1 })).release();
    await clock.advance(1000 * DEFAULT_KEEP_ALIVE_MS);
    expect(loader.loaded.has("b")).toBe(true);
    expect(residency.list().find((model) => model.id === "b")).toMatchObject({ keepAliveMs: -1 });
    expect(residency.list().find((model) => model.id === "b")?.expiresAt).toBeUndefined();

    (await residency.acquire("c", { keepAliveMs: 5000 })).release();
    await clock.advance(5000);
    expect(loader.loaded.has("c")).toBe(false);
  });

  it("the last request's keep-alive wins; without one the model's own TTL applies again", async () => {
    const { loader, clock, residency } = setup({ a: 100 }, { keepAliveMs: MINUTE });
    (await residency.acquire("a", { keepAliveMs: -1 })).release();
    (await residency.acquire("a")).release();
    await clock.advance(MINUTE);
    expect(loader.loaded.has("a")).toBe(false);
  });

  it("a TTL per model overrides the default", async () => {
    const { loader, clock, residency } = setup({ a: 100, b: 100 }, { keepAliveMs: MINUTE, keepAliveByModel: { a: 10 * MINUTE } });
    (await residency.acquire("a")).release();
    (await residency.acquire("b")).release();
    await clock.advance(MINUTE);
    expect([...loader.loaded.keys()]).toEqual(["a"]);
    residency.setKeepAlive("a", 0);
    (await residency.acquire("a")).release();
    await flush();
    expect(loader.loaded.size).toBe(0);
  });

  it("unload() unloads an idle model now and a leased one when its last lease ends", async () => {
    const { loader, residency, events } = setup({ a: 100, b: 100 });
    (await residency.acquire("a")).release();
    expect(await residency.unload("a")).toBe(true);
    expect(loader.loaded.has("a")).toBe(false);
    expect(events.at(-1)).toEqual({ type: "unloaded", id: "a", reason: "manual" });

    const lease = await residency.acquire("b");
    expect(await residency.unload("b")).toBe(false);
    expect(loader.loaded.has("b")).toBe(true);
    lease.release();
    await flush();
    expect(loader.loaded.has("b")).toBe(false);
    expect(await residency.unload("missing")).toBe(false);
  });

  it("a request for a model that is unloading waits, then loads it again", async () => {
    const { loader, residency } = setup({ a: 100 });
    (await residency.acquire("a")).release();
    const unloading = residency.unload("a");
    const lease = await residency.acquire("a");
    await unloading;
    expect(lease.model.disposed).toBe(false);
    expect(loader.loadCalls).toEqual(["a", "a"]);
  });
});

describe("memory budget and LRU eviction", () => {
  it("several models stay loaded while they fit", async () => {
    const { loader, residency } = setup({ a: 100, b: 100 }, { memoryBudgetBytes: 250 });
    (await residency.acquire("a")).release();
    (await residency.acquire("b")).release();
    expect([...loader.loaded.keys()].sort()).toEqual(["a", "b"]);
    expect(residency.usedMemory).toEqual({ ramBytes: 200, vramBytes: 0 });
  });

  it("evicts the least recently used idle model to make room", async () => {
    const { loader, clock, residency, events } = setup({ a: 100, b: 100, c: 100 }, { memoryBudgetBytes: 250 });
    (await residency.acquire("a")).release();
    await clock.advance(1000);
    (await residency.acquire("b")).release();
    await clock.advance(1000);
    (await residency.acquire("a")).release(); // a is now more recent than b
    await clock.advance(1000);
    (await residency.acquire("c")).release();
    expect([...loader.loaded.keys()].sort()).toEqual(["a", "c"]);
    expect(events).toContainEqual({ type: "unloaded", id: "b", reason: "evicted" });
    expect(residency.list().map((model) => model.id)).toEqual(["c", "a"]);
  });

  it("never evicts a leased model; fails clearly when only leased models could make room", async () => {
    const { loader, residency } = setup({ a: 100, b: 100, c: 100 }, { memoryBudgetBytes: 250 });
    const a = await residency.acquire("a");
    (await residency.acquire("b")).release();
    const c = await residency.acquire("c");
    expect([...loader.loaded.keys()].sort()).toEqual(["a", "c"]);
    const failure = residency.acquire("b");
    await expect(failure).rejects.toBeInstanceOf(ModelLoadFailedError);
    await expect(failure).rejects.toThrow(/not enough memory: needs 100 B, budget 250 B.*in use: a, c/);
    expect(a.model.disposed).toBe(false);
    expect(c.model.disposed).toBe(false);
    a.release();
    const b = await residency.acquire("b");
    expect(b.model.id).toBe("b");
    expect(loader.loaded.has("a")).toBe(false);
  });

  it("a model that cannot fit even alone fails with 'not enough memory', and nothing else breaks", async () => {
    const { loader, residency, events } = setup({ small: 100, huge: 5000 }, { memoryBudgetBytes: 1000 });
    (await residency.acquire("small")).release();
    const failure = residency.acquire("huge");
    await expect(failure).rejects.toBeInstanceOf(ModelLoadFailedError);
    await expect(failure).rejects.toThrow("Failed to load model 'huge': not enough memory: needs 5.00 kB, budget 1.00 kB");
    // What the estimate prepared (a model host) is let go.
    expect(loader.abandoned).toEqual(["huge"]);
    expect(loader.loadCalls).toEqual(["small"]);
    // It evicted the idle model while trying; the next request loads it again.
    expect(events).toContainEqual({ type: "load_failed", id: "huge", message: expect.stringContaining("not enough memory") });
    expect((await residency.acquire("small")).model.id).toBe("small");
  });

  it("counts models still loading against the budget", async () => {
    const { loader, residency } = setup({ a: 100, b: 100, c: 100 }, { memoryBudgetBytes: 250 });
    loader.holdLoads = true;
    const a = residency.acquire("a");
    const b = residency.acquire("b");
    await flush();
    const c = residency.acquire("c");
    await flush();
    loader.finishLoads();
    await expect(c).rejects.toThrow("not enough memory");
    await Promise.all([a, b]);
    expect(loader.loadCalls.sort()).toEqual(["a", "b"]);
  });

  it("without a budget, the machine's free RAM decides (minus the headroom)", async () => {
    const { loader, residency, setSnapshot } = setup({ a: 100, b: 100 }, { ramHeadroomBytes: 50 });
    setSnapshot({ freeRamBytes: 120, totalRamBytes: 1000, freeVramBytes: 0, totalVramBytes: 0 });
    await expect(residency.acquire("a")).rejects.toThrow("not enough memory: needs 100 B of RAM, only 70 B free");
    setSnapshot({ freeRamBytes: 200, totalRamBytes: 1000, freeVramBytes: 0, totalVramBytes: 0 });
    (await residency.acquire("a")).release();
    expect(loader.loaded.has("a")).toBe(true);
  });

  it("checks VRAM for models that offload to the GPU", async () => {
    const loader = new FakeLoader({ gpu: 100 });
    loader.estimateMemory = async () => ({ ramBytes: 10, vramBytes: 500 });
    const residency = new ModelResidency(loader, {
      clock: new FakeClock(),
      ramHeadroomBytes: 0,
      memoryProbe: async () => ({ freeRamBytes: 1e9, totalRamBytes: 1e9, freeVramBytes: 400, totalVramBytes: 400 }),
    });
    await expect(residency.acquire("gpu")).rejects.toThrow("needs 500 B of VRAM, only 400 B free");
  });

  it("refuses a non-positive budget", () => {
    expect(() => new ModelResidency(new FakeLoader({}), { memoryBudgetBytes: 0 })).toThrow();
  });
});

describe("state for the UI", () => {
  it("lists loading and loaded models with last use, TTL, expiry and memory, and emits changes", async () => {
    const { loader, clock, residency } = setup({ a: 100 }, { keepAliveMs: MINUTE });
    const snapshots: string[][] = [];
    residency.on("changed", (models) => snapshots.push(models.map((model) => `${model.id}:${model.state}:${model.activeRequests}`)));
    loader.holdLoads = true;
    const acquiring = residency.acquire("a");
    await flush();
    expect(residency.list()).toEqual([
      { id: "a", state: "loading", lastUsedAt: clock.now(), activeRequests: 1, keepAliveMs: MINUTE, memory: { ramBytes: 100, vramBytes: 0 } },
    ]);
    loader.finishLoads();
    const lease = await acquiring;
    lease.release();
    expect(residency.list()[0]).toEqual({
      id: "a",
      state: "loaded",
      loadedAt: clock.now(),
      lastUsedAt: clock.now(),
      activeRequests: 0,
      keepAliveMs: MINUTE,
      expiresAt: clock.now() + MINUTE,
      memory: { ramBytes: 100, vramBytes: 0 },
    });
    expect(snapshots).toContainEqual(["a:loading:1"]);
    expect(snapshots.at(-1)).toEqual(["a:loaded:0"]);
  });

  it("dispose() stops the timers, unloads every model and refuses new requests", async () => {
    const { clock, loader, residency } = setup({ a: 100, b: 100 });
    (await residency.acquire("a")).release();
    const held = await residency.acquire("b");
    expect(clock.pending).toBe(1);
    await residency.dispose();
    expect(clock.pending).toBe(0);
    expect(loader.unloadCalls.sort()).toEqual(["a", "b"]);
    expect(held.model.disposed).toBe(true);
    await expect(residency.acquire("a")).rejects.toThrow("shutting down");
  });
});
