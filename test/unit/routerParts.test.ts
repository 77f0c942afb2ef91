import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/core/router/CircuitBreaker.js";
import { ResponseCache } from "../../src/core/router/ResponseCache.js";
import { normalizeUpstreamUrl, maskApiKey } from "../../src/core/router/RemoteProviders.js";
import { parseRouterConfig, resolveSecret } from "../../src/core/router/routerConfig.js";
import { orderTargets, stickyFraction, type TargetView } from "../../src/core/router/routingPolicies.js";

function fakeClock(start = 1_000_000) {
  let now = start;
  return { clock: { now: () => now }, advance: (ms: number) => (now += ms) };
}

describe("CircuitBreaker", () => {
  it("opens after N consecutive failures, lets one probe through after the cool-down, closes on success", () => {
    const time = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, clock: time.clock });
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe("closed");
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe("closed");
    breaker.recordFailure();
    expect(breaker.state).toBe("open");
    expect(breaker.tryPass()).toBe(false);
    expect(breaker.availableAt).toBe(1_001_000);
    time.advance(1000);
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryPass()).toBe(true);
    // Only one probe at a time.
    expect(breaker.tryPass()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryPass()).toBe(true);
  });

  it("a failed probe opens the circuit again for another cool-down", () => {
    const time = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 500, clock: time.clock });
    breaker.recordFailure();
    time.advance(500);
    expect(breaker.tryPass()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe("open");
    time.advance(499);
    expect(breaker.available).toBe(false);
    time.advance(1);
    expect(breaker.available).toBe(true);
  });

  it("pauses for a Retry-After without counting a failure; a probe that went unused is given back", () => {
    const time = fakeClock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, clock: time.clock });
    breaker.pause(2000);
    expect(breaker.state).toBe("closed");
    expect(breaker.available).toBe(false);
    expect(breaker.availableAt).toBe(1_002_000);
    time.advance(2000);
    expect(breaker.available).toBe(true);
    breaker.recordFailure();
    time.advance(100);
    expect(breaker.tryPass()).toBe(true);
    breaker.release();
    expect(breaker.tryPass()).toBe(true);
  });
});

describe("orderTargets", () => {
  const target = (name: string, view: Partial<TargetView>): TargetView & { name: string } => ({
    name,
    kind: "remote",
    price: 0,
    outstanding: 0,
    weight: 1,
    lastPickedOrder: 0,
    ...view,
  });
  const names = (targets: { name: string }[]) => targets.map((entry) => entry.name);
  const local = target("local", { kind: "local" });
  const busy = target("busy", { outstanding: 3, price: 1 });
  const idle = target("idle", { outstanding: 1, price: 5 });

  it("local-first and remote-first keep their groups; inside a group, least outstanding first", () => {
    expect(names(orderTargets([busy, idle, local], "local-first", 0))).toEqual(["local", "idle", "busy"]);
    expect(names(orderTargets([local, busy, idle], "remote-first", 0))).toEqual(["idle", "busy", "local"]);
  });

  it("spreads equal targets by the last one picked", () => {
    const a = target("a", { lastPickedOrder: 5 });
    const b = target("b", { lastPickedOrder: 2 });
    expect(names(orderTargets([a, b], "local-first", 0))).toEqual(["b", "a"]);
  });

  it("cheapest sorts by price, fastest by observed time to first token (unmeasured first)", () => {
    expect(names(orderTargets([idle, busy, local], "cheapest", 0))).toEqual(["local", "busy", "idle"]);
    const slow = target("slow", { firstTokenMs: 900 });
    const quick = target("quick", { firstTokenMs: 100 });
    const fresh = target("fresh", {});
    expect(names(orderTargets([slow, quick, fresh], "fastest", 0))).toEqual(["fresh", "quick", "slow"]);
  });

  it("weighted picks by cumulative weight and keeps the others as fallbacks", () => {
    const small = target("small", { weight: 20 });
    const large = target("large", { weight: 80 });
    expect(names(orderTargets([small, large], "weighted", 0.1))).toEqual(["small", "large"]);
    expect(names(orderTargets([small, large], "weighted", 0.2))).toEqual(["large", "small"]);
    expect(names(orderTargets([small, large], "weighted", 0.99))).toEqual(["large", "small"]);
    // Weight 0: never picked first (a rollout at 0%), still a fallback.
    expect(names(orderTargets([target("off", { weight: 0 }), large], "weighted", 0))).toEqual(["large", "off"]);
  });

  it("a sticky key always lands at the same fraction", () => {
    expect(stickyFraction("conversation-1")).toBe(stickyFraction("conversation-1"));
    expect(stickyFraction("conversation-1")).not.toBe(stickyFraction("conversation-2"));
    const spread = Array.from({ length: 1000 }, (_, index) => stickyFraction(`c${index}`)).filter((fraction) => fraction < 0.2).length;
    expect(spread).toBeGreaterThan(150);
    expect(spread).toBeLessThan(250);
  });
});

describe("ResponseCache", () => {
  const answer = (text: string) => ({
    deltas: [{ text, tokenCount: 1 }],
    result: { text, finishReason: "stop" as const, usage: { promptTokens: 1, completionTokens: 1 }, timings: { promptMs: 1, firstTokenMs: 1, decodeTokensPerSecond: 0 } },
  });
  const target = { provider: "local", modelId: "m" };

  it("keys equal requests equally whatever their key order, and by target", () => {
    expect(ResponseCache.key(target, { a: 1, b: { c: 2, d: 3 } })).toBe(ResponseCache.key(target, { b: { d: 3, c: 2 }, a: 1 }));
    expect(ResponseCache.key(target, { a: 1 })).not.toBe(ResponseCache.key({ provider: "x", modelId: "m" }, { a: 1 }));
  });

  it("expires entries after the TTL and evicts the least recently used beyond its bounds", () => {
    const time = fakeClock();
    const cache = new ResponseCache({ maxEntries: 2, ttlMs: 1000, clock: time.clock });
    cache.set("a", answer("A"));
    cache.set("b", answer("B"));
    expect(cache.get("a")?.result.text).toBe("A");
    cache.set("c", answer("C"));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")?.result.text).toBe("A");
    time.advance(1000);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size.entries).toBe(1);
  });

  it("bounds bytes, skips answers larger than the whole cache, and turns off at 0 entries", () => {
    const cache = new ResponseCache({ maxBytes: 2000 });
    cache.set("big", answer("x".repeat(5000)));
    expect(cache.get("big")).toBeUndefined();
    cache.set("one", answer("y".repeat(300)));
    cache.set("two", answer("z".repeat(300)));
    expect(cache.size.bytes).toBeLessThanOrEqual(2000);
    expect(cache.get("one")).toBeUndefined();
    expect(cache.get("two")).toBeDefined();
    const off = new ResponseCache({ maxEntries: 0 });
    off.set("a", answer("A"));
    expect(off.enabled).toBe(false);
    expect(off.get("a")).toBeUndefined();
  });
});

describe("router config", () => {
  it("fills defaults and accepts a complete config", () => {
    const config = parseRouterConfig({
      providers: [{ id: "gpu-box", baseUrl: "http://10.0.0.2:8000/v1", apiKey: "${GPU_KEY}", price: { input: 0.5, output: 1.5 }, maxConcurrency: 4 }],
      routes: [{ alias: "default-chat", targets: [{ provider: "local", model: "qwen" }, { provider: "gpu-box", model: "qwen-7b", weight: 5 }] }],
      router: { cache: { maxEntries: 10 } },
    });
    expect(config.routes[0]).toMatchObject({ policy: "local-first", localOnly: false });
    expect(config.providers[0]!.price).toEqual({ input: 0.5, output: 1.5 });
  });

  it.each([
    [{ providers: [{ id: "x", baseUrl: "ftp://host" }] }, /providers\[0\]\.baseUrl: must be an http\(s\) URL/],
    [{ providers: [{ id: "x", baseUrl: "http://user:pw@host" }] }, /providers\[0\]\.baseUrl/],
    [{ providers: [{ id: "local", baseUrl: "http://host" }] }, /providers\[0\]\.id: 'local' is this machine's provider/],
    [{ providers: [{ id: "a", baseUrl: "http://h" }, { id: "a", baseUrl: "http://h" }] }, /providers\[1\]\.id: duplicate provider id 'a'/],
    [{ routes: [{ alias: "x", targets: [{ provider: "nope", model: "m" }] }] }, /routes\[0\]\.targets\[0\]\.provider: no provider 'nope'/],
    [{ routes: [{ alias: "x", policy: "random", targets: [{ provider: "local", model: "m" }] }] }, /routes\[0\]\.policy/],
    [{ providers: [{ id: "a", baseUrl: "http://h", price: { input: -1 } }] }, /providers\[0\]\.price\.input/],
    [{ providers: [{ id: "a", baseUrl: "http://h", colour: "red" }] }, /providers\[0\]: unknown field 'colour'/],
    [{ routes: [{ alias: "p", localOnly: true, targets: [{ provider: "a", model: "m" }] }], providers: [{ id: "a", baseUrl: "http://h" }] }, /localOnly route can only have 'local' targets/],
  ])("names the bad field: %j", (config, message) => {
    expect(() => parseRouterConfig(config, "router.yaml")).toThrow(message);
  });

  it("reads ${ENV} keys from the environment and says which one is missing", () => {
    expect(resolveSecret("${KEY}", "providers[0].apiKey", { KEY: "secret" })).toBe("secret");
    expect(resolveSecret("literal", "f", {})).toBe("literal");
    expect(() => resolveSecret("${MISSING_KEY}", "providers[0].apiKey", {})).toThrow("providers[0].apiKey: the environment variable MISSING_KEY is not set");
  });

  it("normalises --upstream URLs and masks keys", () => {
    expect(normalizeUpstreamUrl("http://127.0.0.1:4000")).toBe("http://127.0.0.1:4000/v1");
    expect(normalizeUpstreamUrl("http://127.0.0.1:4000/v1/")).toBe("http://127.0.0.1:4000/v1");
    expect(normalizeUpstreamUrl("https://api.example.com/openai/v1")).toBe("https://api.example.com/openai/v1");
    expect(maskApiKey("sk-1234567890abcdef")).toBe("sk-…cdef");
    expect(maskApiKey("short")).toBe("•••••");
    expect(maskApiKey(undefined)).toBeUndefined();
  });
});
