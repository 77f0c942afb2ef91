import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rerankRequestSchema, MAX_RERANK_DOCUMENTS } from "../../src/core/api/openai/rerankRoute.js";
import { addItemsSchema, searchSchema } from "../../src/core/api/memory/memorySchemas.js";
import { InvalidArgumentError } from "../../src/core/errors.js";
import { AppDatabase } from "../../src/core/storage/AppDatabase.js";
import { MEMORY_LIMITS, MemoryStore, type MemoryEmbedder } from "../../src/core/storage/MemoryStore.js";

/** Embeds a text as counts of the letters a, b, c: deterministic and easy to reason about. */
const letterCounts: MemoryEmbedder = async (_model, texts) => texts.map((text) => ["a", "b", "c"].map((letter) => text.split(letter).length - 1 + 0.01));

describe("MemoryStore", () => {
  let database: AppDatabase;
  let store: MemoryStore;
  beforeEach(() => {
    database = new AppDatabase(":memory:");
    store = new MemoryStore(database, letterCounts);
  });
  afterEach(() => {
    store.dispose();
    database.dispose();
  });

  it("adds texts through the embedder and finds the nearest by cosine distance", async () => {
    store.createCollection("notes", "embedder");
    await store.add("notes", [
      { id: "a", text: "aaaa", metadata: { kind: "x" } },
      { id: "b", text: "bbbb", metadata: { kind: "y" } },
      { id: "ab", text: "aabb", metadata: { kind: "x" } },
    ]);
    expect(store.collection("notes")).toMatchObject({ name: "notes", model: "embedder", dimensions: 3, items: 3 });
    const matches = await store.search("notes", "aaa", 2);
    expect(matches.map((match) => match.id)).toEqual(["a", "ab"]);
    expect(matches[0]!.distance).toBeCloseTo(0, 3);
    expect(matches[0]!.metadata).toEqual({ kind: "x" });
  });

  it("filters on metadata equality, replaces an id added again, and deletes", async () => {
    store.createCollection("notes", "embedder");
    await store.add("notes", [
      { id: "a", text: "aaaa", metadata: { kind: "x", n: 1, ok: true } },
      { id: "b", text: "bbbb", metadata: { kind: "y", n: 2, ok: false } },
    ]);
    expect((await store.search("notes", "aaaa", 5, { filter: { kind: "y" } })).map((match) => match.id)).toEqual(["b"]);
    expect((await store.search("notes", "aaaa", 5, { filter: { n: 1, ok: true } })).map((match) => match.id)).toEqual(["a"]);
    expect(await store.search("notes", "aaaa", 5, { filter: { kind: "z" } })).toEqual([]);
    await store.add("notes", [{ id: "a", text: "cccc" }]);
    expect(store.collection("notes")!.items).toBe(2);
    expect((await store.search("notes", "cc", 1))[0]).toMatchObject({ id: "a", text: "cccc" });
    expect(store.delete("notes", ["a", "missing"])).toBe(1);
    expect((await store.search("notes", "cc", 5)).map((match) => match.id)).toEqual(["b"]);
    expect(store.deleteCollection("notes")).toBe(true);
    expect(store.listCollections()).toEqual([]);
    expect(store.deleteCollection("notes")).toBe(false);
  });

  it("keeps collections apart and fixes each one's dimension", () => {
    store.createCollection("one", "m", 2);
    store.createCollection("two", "m");
    store.addVectors("one", [{ id: "x", text: "x", vector: [1, 0] }]);
    store.addVectors("two", [{ id: "x", text: "y", vector: [0, 1, 0, 0] }]);
    expect(store.searchVector("one", [1, 0], 5).map((match) => match.text)).toEqual(["x"]);
    expect(store.searchVector("two", [0, 1, 0, 0], 5).map((match) => match.text)).toEqual(["y"]);
    expect(() => store.addVectors("one", [{ text: "bad", vector: [1, 0, 0] }])).toThrow(/2/);
    expect(() => store.searchVector("two", [1, 0], 1)).toThrow(InvalidArgumentError);
  });

  it("refuses bad names, bounds and unknown collections clearly", async () => {
    expect(() => store.createCollection("bad name!", "m")).toThrow(InvalidArgumentError);
    expect(() => store.createCollection("x".repeat(65), "m")).toThrow(InvalidArgumentError);
    store.createCollection("ok", "m");
    expect(() => store.createCollection("ok", "m")).toThrow(/already exists/);
    await expect(store.add("missing", [{ text: "a" }])).rejects.toThrow(/No memory collection/);
    await expect(store.add("ok", [])).rejects.toThrow(InvalidArgumentError);
    await expect(store.add("ok", [{ text: "x".repeat(MEMORY_LIMITS.maxTextChars + 1) }])).rejects.toThrow(InvalidArgumentError);
    await expect(store.search("ok", "a", MEMORY_LIMITS.maxK + 1)).rejects.toThrow(/'k'/);
    await expect(store.search("ok", "a", 0)).rejects.toThrow(/'k'/);
    expect(() => store.addVectors("ok", [{ text: "nan", vector: [Number.NaN] }])).toThrow(InvalidArgumentError);
    expect(await store.search("ok", "a", 3)).toEqual([]); // no vectors yet
  });

  it("keeps items across reopening the database file", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = mkdtempSync(path.join(os.tmpdir(), "marduk-memory-"));
    try {
      const file = path.join(dir, "app.db");
      const first = new AppDatabase(file);
      new MemoryStore(first, letterCounts).createCollection("kept", "m");
      await new MemoryStore(first, letterCounts).add("kept", [{ id: "k", text: "abc" }]);
      first.dispose();
      const second = new AppDatabase(file);
      const reopened = new MemoryStore(second, letterCounts);
      expect((await reopened.search("kept", "abc", 1))[0]).toMatchObject({ id: "k", text: "abc" });
      second.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("memory and rerank request bounds", () => {
  it("bounds items, k and filters", () => {
    expect(addItemsSchema.safeParse({ items: [] }).success).toBe(false);
    expect(addItemsSchema.safeParse({ items: Array.from({ length: MEMORY_LIMITS.maxItemsPerAdd + 1 }, () => ({ text: "a" })) }).success).toBe(false);
    expect(addItemsSchema.safeParse({ items: [{ text: "a", metadata: { k: 1 } }] }).success).toBe(true);
    expect(searchSchema.safeParse({ query: "q", k: 101 }).success).toBe(false);
    expect(searchSchema.safeParse({ query: "q", filter: { nested: { a: 1 } } }).success).toBe(false);
    expect(searchSchema.safeParse({ query: "q", k: 5, filter: { kind: "x" } }).success).toBe(true);
  });

  it("takes documents as strings or {text} and bounds them", () => {
    expect(rerankRequestSchema.safeParse({ model: "m", query: "q", documents: ["a", { text: "b" }], top_n: 1 }).success).toBe(true);
    expect(rerankRequestSchema.safeParse({ model: "m", query: "q", documents: [] }).success).toBe(false);
    expect(rerankRequestSchema.safeParse({ model: "m", query: "q", documents: Array.from({ length: MAX_RERANK_DOCUMENTS + 1 }, () => "d") }).success).toBe(false);
    expect(rerankRequestSchema.safeParse({ model: "m", query: "q", documents: [{ txt: "b" }] }).success).toBe(false);
  });
});
