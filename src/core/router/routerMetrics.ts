import { Counter, Gauge, type Registry } from "prom-client";
import type { ProviderRegistry } from "./ProviderRegistry.js";
import type { ResponseCache } from "./ResponseCache.js";

const CIRCUIT_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/**
 * The router's gauges and counters in `/metrics`: response cache hits, misses, entries and
 * bytes; each provider's health, circuit state and running requests. Returns the cache
 * lookup recorder the router calls.
 */
export function registerRouterMetrics(registry: Registry, providers: ProviderRegistry, cache: ResponseCache): (hit: boolean) => void {
  const registers = [registry];
  const lookups = new Counter({ name: "marduk_cache_lookups_total", help: "Response cache lookups of deterministic requests", labelNames: ["result"], registers });
  new Gauge({
    name: "marduk_cache_bytes",
    help: "Bytes held by the response cache",
    registers,
    collect() {
      this.set(cache.size.bytes);
    },
  });
  new Gauge({
    name: "marduk_cache_entries",
    help: "Answers held by the response cache",
    registers,
    collect() {
      this.set(cache.size.entries);
    },
  });
  new Gauge({
    name: "marduk_provider_up",
    help: "1 when the provider answered its last health check",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const status of providers.status()) this.set({ provider: status.id }, status.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: "marduk_provider_circuit_state",
    help: "Circuit breaker of each provider: 0 closed, 1 half-open, 2 open",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const status of providers.status()) this.set({ provider: status.id }, CIRCUIT_VALUE[status.circuit]);
    },
  });
  new Gauge({
    name: "marduk_provider_outstanding_requests",
    help: "Requests running on each provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const status of providers.status()) this.set({ provider: status.id }, status.outstanding);
    },
  });
  // Both results exist from the start, so rates can be computed before the first hit.
  lookups.inc({ result: "hit" }, 0);
  lookups.inc({ result: "miss" }, 0);
  return (hit) => lookups.inc({ result: hit ? "hit" : "miss" });
}
