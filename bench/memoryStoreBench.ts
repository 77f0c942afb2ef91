/**
 * Memory store bench (`npx tsx bench/memoryStoreBench.ts`): insert and search latency of the
 * sqlite-vec index behind `/v1/memory`, at 10k and 100k vectors. Random unit vectors go in
 * through the store's vector API (no embedding model), so this measures the index alone.
 * Writes bench-results/memory-store.json.
 *
 * Options (env): BENCH_MEMORY_SIZES (default "10000,100000"), BENCH_MEMORY_DIMENSIONS
 * (default 384), BENCH_MEMORY_BATCH (vectors per insert call, default 1000), BENCH_MEMORY_QUERIES
 * (default 50), BENCH_MEMORY_K (default 10).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AppDatabase } from "../src/core/storage/AppDatabase.js";
import { MemoryStore } from "../src/core/storage/MemoryStore.js";
import { createSeededRandom } from "../test/fixtures/gguf/seededRandom.js";
import { median } from "./benchClient.js";

const sizes = (process.env.BENCH_MEMORY_SIZES ?? "10000,100000").split(",").map(Number);
const dimensions = Number(process.env.BENCH_MEMORY_DIMENSIONS ?? 384);
const batch = Number(process.env.BENCH_MEMORY_BATCH ?? 1000);
const queries = Number(process.env.BENCH_MEMORY_QUERIES ?? 50);
const k = Number(process.env.BENCH_MEMORY_K ?? 10);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function randomUnitVector(random: () => number): Float32Array {
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    vector[i] = random() * 2 - 1;
    norm += vector[i]! * vector[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return vector;
}

const results = [];
for (const size of sizes) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-memory-bench-"));
  const database = new AppDatabase(path.join(dir, "bench.db"));
  const store = new MemoryStore(database, async () => {
    throw new Error("the bench inserts vectors directly");
  });
  try {
    store.createCollection("bench", "none", dimensions);
    const random = createSeededRandom(size);
    const insertStarted = performance.now();
    const perBatchMs: number[] = [];
    for (let start = 0; start < size; start += batch) {
      const items = Array.from({ length: Math.min(batch, size - start) }, (_, offset) => ({
        id: `item-${start + offset}`,
        text: `text ${start + offset}`,
        metadata: { group: (start + offset) % 10 },
        vector: randomUnitVector(random),
      }));
      const started = performance.now();
      store.addVectors("bench", items);
      perBatchMs.push(performance.now() - started);
    }
    const insertTotalMs = performance.now() - insertStarted;
    const searchMs: number[] = [];
    const filteredMs: number[] = [];
    for (let q = 0; q < queries; q++) {
      const vector = randomUnitVector(random);
      let started = performance.now();
      store.searchVector("bench", vector, k);
      searchMs.push(performance.now() - started);
      started = performance.now();
      store.searchVector("bench", vector, k, { filter: { group: 3 } });
      filteredMs.push(performance.now() - started);
    }
    results.push({
      vectors: size,
      dimensions,
      insertBatch: batch,
      insertTotalMs: Math.round(insertTotalMs),
      insertPerVectorUs: Math.round((insertTotalMs / size) * 1000 * 10) / 10,
      insertBatchMedianMs: Math.round(median(perBatchMs) * 10) / 10,
      searchK: k,
      searchMedianMs: Math.round(median(searchMs) * 100) / 100,
      searchP95Ms: Math.round(percentile(searchMs, 95) * 100) / 100,
      filteredSearchMedianMs: Math.round(median(filteredMs) * 100) / 100,
      filteredSearchP95Ms: Math.round(percentile(filteredMs, 95) * 100) / 100,
    });
  } finally {
    store.dispose();
    database.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.table(results);
mkdirSync("bench-results", { recursive: true });
writeFileSync(path.join("bench-results", "memory-store.json"), `${JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, results }, null, 2)}\n`);
