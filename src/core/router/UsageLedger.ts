import { Counter, type Registry } from "prom-client";
import type { UsageRow, UsageSummary } from "../../shared/contract/providers.js";
import type { AppDatabase } from "../storage/AppDatabase.js";
import type { RoutedRequestRecord } from "./Router.js";

export type { UsageRow, UsageSummary };

const priceOf = (tokens: { promptTokens: number; completionTokens: number }, price: { inputPerMillion: number; outputPerMillion: number }) =>
  (tokens.promptTokens * price.inputPerMillion + tokens.completionTokens * price.outputPerMillion) / 1e6;

/**
 * Requests, tokens, errors, latency and cost per provider, model and API key: one SQLite row
 * per routed request (the history survives restarts), and Prometheus counters for `/metrics`.
 */
export class UsageLedger {
  private readonly insert;
  private readonly totals;
  private readonly requests: Counter;
  private readonly tokens: Counter;
  private readonly cost: Counter;
  private readonly saved: Counter;

  constructor(database: AppDatabase, registry: Registry) {
    this.insert = database.db.prepare(
      `INSERT INTO usage_log (time, provider, model, kind, key_id, prompt_tokens, completion_tokens, latency_ms, failed, cache_hit, cost_usd, saved_usd)
       VALUES (@time, @provider, @model, @kind, @keyId, @promptTokens, @completionTokens, @latencyMs, @failed, @cacheHit, @costUsd, @savedUsd)`,
    );
    // The dashboard asks every few seconds: prepared once.
    this.totals = database.db.prepare(
      `SELECT provider, model, key_id AS keyId, COUNT(*) AS requests, SUM(failed) AS errors, SUM(cache_hit) AS cacheHits,
              SUM(prompt_tokens) AS promptTokens, SUM(completion_tokens) AS completionTokens, AVG(latency_ms) AS meanLatencyMs,
              SUM(cost_usd) AS costUsd, SUM(saved_usd) AS savedUsd
       FROM usage_log WHERE time >= ? GROUP BY provider, model, key_id ORDER BY requests DESC LIMIT 1000`,
    );
    const registers = [registry];
    this.requests = new Counter({ name: "marduk_routed_requests_total", help: "Routed requests by provider, model and outcome", labelNames: ["provider", "model", "outcome"], registers });
    this.tokens = new Counter({ name: "marduk_routed_tokens_total", help: "Tokens of routed requests by provider, model and direction", labelNames: ["provider", "model", "direction"], registers });
    this.cost = new Counter({ name: "marduk_cost_usd_total", help: "Cost of requests at each provider's price, in US dollars", labelNames: ["provider"], registers });
    this.saved = new Counter({ name: "marduk_saved_usd_total", help: "Cost avoided by serving locally or from the cache, in US dollars", labelNames: ["provider"], registers });
  }

  record(record: RoutedRequestRecord): void {
    const costUsd = record.failed ? 0 : priceOf(record, record.price);
    const savedUsd = !record.failed && record.alternativePrice ? Math.max(0, priceOf(record, record.alternativePrice) - costUsd) : 0;
    const provider = record.cacheHit ? "cache" : record.provider;
    this.insert.run({
      time: Date.now(),
      provider,
      model: record.modelId,
      kind: record.kind,
      keyId: record.apiKeyFingerprint ?? null,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      latencyMs: record.latencyMs,
      failed: record.failed ? 1 : 0,
      cacheHit: record.cacheHit ? 1 : 0,
      costUsd,
      savedUsd,
    });
    this.requests.inc({ provider, model: record.modelId, outcome: record.failed ? "error" : record.cacheHit ? "cache_hit" : "ok" });
    this.tokens.inc({ provider, model: record.modelId, direction: "input" }, record.promptTokens);
    this.tokens.inc({ provider, model: record.modelId, direction: "output" }, record.completionTokens);
    if (costUsd > 0) this.cost.inc({ provider }, costUsd);
    if (savedUsd > 0) this.saved.inc({ provider }, savedUsd);
  }

  /** Usage since `since` (ms since the epoch; default: all of it). Cache hits count under provider "cache". */
  summary(since = 0): UsageSummary {
    const rows = this.totals.all(since) as UsageRow[];
    const requests = rows.reduce((sum, row) => sum + row.requests, 0);
    const localRequests = rows.filter((row) => row.provider === "local" || row.provider === "cache").reduce((sum, row) => sum + row.requests, 0);
    const costUsd = rows.reduce((sum, row) => sum + row.costUsd, 0);
    const savedUsd = rows.reduce((sum, row) => sum + row.savedUsd, 0);
    return {
      since,
      requests,
      localRequests,
      localShare: requests > 0 ? localRequests / requests : 0,
      costUsd,
      savedUsd,
      savedShare: savedUsd + costUsd > 0 ? savedUsd / (savedUsd + costUsd) : 0,
      rows,
    };
  }
}
