import { createHash } from "node:crypto";
import type { GenerationDelta, GenerationResult } from "../../shared/api/generation.js";
import { systemRouterClock, type RouterClock } from "./CircuitBreaker.js";

/** Options of {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** Most answers kept. Default: 1000; 0 turns the cache off. */
  maxEntries?: number;
  /** Most bytes of answers kept (text and reasoning of deltas, and results). Default: 64 MiB. */
  maxBytes?: number;
  /** How long an answer stays valid, in ms. Default: 10 minutes. */
  ttlMs?: number;
  /** Default: {@link systemRouterClock}. */
  clock?: RouterClock;
}

/** A cached answer: the deltas as they streamed, and the final result. */
export interface CachedGeneration {
  deltas: GenerationDelta[];
  result: GenerationResult;
}

interface Entry {
  value: CachedGeneration;
  bytes: number;
  expiresAt: number;
}

export const DEFAULT_CACHE_MAX_ENTRIES = 1000;
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CACHE_TTL_MS = 10 * 60_000;

/** Object keys sorted at every level, so equal requests give equal keys. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/**
 * Exact-match cache of deterministic answers (temperature 0 or a fixed seed), keyed by the
 * normalised request and the serving target, bounded by entries and bytes (least recently
 * used first out) with a TTL.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly clock: RouterClock;

  constructor(options: ResponseCacheOptions = {}) {
    this.maxEntries = Math.max(0, options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES);
    this.maxBytes = Math.max(0, options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES);
    this.ttlMs = Math.max(0, options.ttlMs ?? DEFAULT_CACHE_TTL_MS);
    this.clock = options.clock ?? systemRouterClock;
  }

  get enabled(): boolean {
    return this.maxEntries > 0 && this.maxBytes > 0 && this.ttlMs > 0;
  }

  /** Entries and bytes held now. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  /** The key of a request at one target. `request` must hold everything that shapes the answer. */
  static key(target: { provider: string; modelId: string }, request: unknown): string {
    return createHash("sha256").update(canonicalJson({ target, request })).digest("hex");
  }

  get(key: string): CachedGeneration | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.clock.now()) {
      this.delete(key, entry);
      return undefined;
    }
    // Most recently used last.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: CachedGeneration): void {
    if (!this.enabled) return;
    const bytes = value.deltas.reduce((sum, delta) => sum + (delta.text.length + (delta.reasoning?.length ?? 0)) * 2 + 16, 0) + JSON.stringify(value.result).length * 2;
    if (bytes > this.maxBytes) return;
    const existing = this.entries.get(key);
    if (existing) this.delete(key, existing);
    this.entries.set(key, { value, bytes, expiresAt: this.clock.now() + this.ttlMs });
    this.bytes += bytes;
    for (const [oldKey, oldEntry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(oldKey, oldEntry);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
