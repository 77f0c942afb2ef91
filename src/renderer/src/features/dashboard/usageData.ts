import type { UsageRow } from "../../../../shared/contract/index.js";

/** Usage of one provider, over all its models and keys. */
export interface ProviderUsage {
  /** A provider id, "local", or "cache". */
  provider: string;
  requests: number;
  errors: number;
  cacheHits: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  savedUsd: number;
}

/** Sums the ledger's rows (per provider, model and key) per provider, busiest first. */
export function usageByProvider(rows: readonly UsageRow[]): ProviderUsage[] {
  const byProvider = new Map<string, ProviderUsage>();
  for (const row of rows) {
    const total = byProvider.get(row.provider) ?? { provider: row.provider, requests: 0, errors: 0, cacheHits: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, savedUsd: 0 };
    total.requests += row.requests;
    total.errors += row.errors;
    total.cacheHits += row.cacheHits;
    total.promptTokens += row.promptTokens;
    total.completionTokens += row.completionTokens;
    total.costUsd += row.costUsd;
    total.savedUsd += row.savedUsd;
    byProvider.set(row.provider, total);
  }
  return [...byProvider.values()].sort((a, b) => b.requests - a.requests || a.provider.localeCompare(b.provider));
}

/** How a provider id reads in the usage table. */
export function providerLabel(provider: string): string {
  if (provider === "local") return "This machine";
  if (provider === "cache") return "Response cache";
  return provider;
}
