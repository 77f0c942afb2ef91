import { randomUUID } from "node:crypto";
import * as sqliteVec from "sqlite-vec";
import { InvalidArgumentError, UnsupportedError } from "../errors.js";
import type { RoutingHints } from "../inference/inferenceTypes.js";
import type { AppDatabase } from "./AppDatabase.js";

/** A collection's name: letters, digits, `_`, `-`, `.`; 1 to 64 characters, starting with a letter or digit. */
export const MEMORY_COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Bounds of one call, so a request cannot make the server embed or hold without limit. */
export const MEMORY_LIMITS = {
  /** Longest text of an item or a query, in characters. */
  maxTextChars: 32_000,
  /** Most items one `add` embeds. */
  maxItemsPerAdd: 256,
  /** Most vectors one `addVectors` inserts (the bench's and tests' direct path). */
  maxVectorsPerAdd: 10_000,
  /** Most neighbours one search returns. */
  maxK: 100,
  /** Longest item id, in characters. */
  maxIdChars: 256,
  /** Largest metadata object, as JSON characters. */
  maxMetadataChars: 16_384,
  /** Most keys of a search filter. */
  maxFilterKeys: 16,
  /** Most ids one delete removes. */
  maxIdsPerDelete: 10_000,
  /** Largest vector dimension a collection may have. */
  maxDimensions: 8192,
} as const;

/** A metadata value a filter can compare (equality). */
export type MemoryScalar = string | number | boolean | null;
export type MemoryMetadata = Record<string, unknown>;

export interface MemoryCollection {
  name: string;
  /** The embedding model its texts and queries are embedded with (through the inference door). */
  model: string;
  /** Vector size, fixed by the collection's first vectors (or at creation); undefined until then. */
  dimensions?: number;
  items: number;
  /** ms since the epoch. */
  createdAt: number;
}

export interface MemoryItemInput {
  /** Default: a random UUID. An id already in the collection is replaced. */
  id?: string;
  text: string;
  metadata?: MemoryMetadata;
}

export interface MemoryMatch {
  id: string;
  text: string;
  metadata: MemoryMetadata;
  /** Cosine distance to the query, 0 (same direction) to 2. */
  distance: number;
}

export interface MemorySearchOptions {
  /** Only items whose metadata has each of these keys equal to the value. Default: none. */
  filter?: Record<string, MemoryScalar>;
}

/** How the request that embeds may be aborted and routed (an API key's local-only, its stickiness). */
export interface MemoryEmbedRequest {
  signal?: AbortSignal;
  routing?: RoutingHints;
}

/** Embeds texts with a model, in one call (the door batches them); the store never routes itself. */
export type MemoryEmbedder = (model: string, texts: readonly string[], request?: MemoryEmbedRequest) => Promise<number[][]>;

interface CollectionRow {
  id: number;
  name: string;
  model: string;
  dimensions: number | null;
  created_at: number;
}

/**
 * Named collections of texts with their embeddings, for agents' memory: rows in the app's
 * database (`memory_collections`, `memory_items`) and one sqlite-vec `vec0` table of cosine
 * vectors per collection (`memory_vec_<id>`, keyed by the item's rowid), created when the
 * collection's dimension is known. Nearest neighbours come from vec0's exact KNN; a metadata
 * filter first finds the matching items' rowids in SQLite (vec0 cannot filter on JSON) and
 * restricts the KNN to them.
 */
export class MemoryStore {
  constructor(
    private readonly database: AppDatabase,
    private readonly embed: MemoryEmbedder,
  ) {
    // Loading an extension twice on one connection is harmless; the store is its only user.
    // A missing or unloadable vec0 library (e.g. packed inside an asar) must not stop the app:
    // only the memory store fails, saying why.
    try {
      sqliteVec.load(database.db);
    } catch (error) {
      this.unavailable = `The memory store is unavailable: sqlite-vec could not be loaded (${error instanceof Error ? error.message : String(error)})`;
    }
  }

  /** Why the store cannot work on this machine (sqlite-vec did not load), if it cannot. */
  readonly unavailable: string | undefined;

  private get db() {
    if (this.unavailable) throw new UnsupportedError(this.unavailable);
    return this.database.db;
  }

  listCollections(): MemoryCollection[] {
    const rows = this.db.prepare("SELECT * FROM memory_collections ORDER BY name").all() as CollectionRow[];
    return rows.map((row) => this.describe(row));
  }

  collection(name: string): MemoryCollection | undefined {
    const row = this.row(name);
    return row && this.describe(row);
  }

  /**
   * Creates a collection whose texts the `model` embeds. @param dimensions The vector size, if
   * known; else fixed by the first vectors added.
   * @throws InvalidArgumentError for a bad or taken name
   */
  createCollection(name: string, model: string, dimensions?: number): MemoryCollection {
    checkName(name);
    if (!model || model.length > 256) throw new InvalidArgumentError("'model' must be a model id of 1 to 256 characters", "model");
    if (dimensions !== undefined) checkDimensions(dimensions);
    if (this.row(name)) throw new InvalidArgumentError(`A memory collection named '${name}' already exists`, "name");
    this.db.transaction(() => {
      this.db.prepare("INSERT INTO memory_collections (name, model, dimensions, created_at) VALUES (?, ?, ?, ?)").run(name, model, dimensions ?? null, Date.now());
      if (dimensions !== undefined) this.createVectorTable(this.row(name)!.id, dimensions);
    })();
    return this.collection(name)!;
  }

  /** Deletes a collection and its items; false if there was none. */
  deleteCollection(name: string): boolean {
    const row = this.row(name);
    if (!row) return false;
    this.db.transaction(() => {
      this.db.exec(`DROP TABLE IF EXISTS ${vectorTable(row.id)}`);
      this.db.prepare("DELETE FROM memory_items WHERE collection_id = ?").run(row.id);
      this.db.prepare("DELETE FROM memory_collections WHERE id = ?").run(row.id);
    })();
    return true;
  }

  /** Embeds the texts with the collection's model (one batched call) and stores them; returns their ids. */
  async add(name: string, items: readonly MemoryItemInput[], request?: MemoryEmbedRequest): Promise<string[]> {
    const row = this.required(name);
    if (items.length === 0 || items.length > MEMORY_LIMITS.maxItemsPerAdd) throw new InvalidArgumentError(`'items' must have 1 to ${MEMORY_LIMITS.maxItemsPerAdd} items`, "items");
    items.forEach((item, index) => checkText(item.text, `items[${index}].text`));
    const vectors = await this.embed(row.model, items.map((item) => item.text), request);
    if (vectors.length !== items.length) throw new InvalidArgumentError(`The model '${row.model}' returned ${vectors.length} embeddings for ${items.length} texts`, "model");
    return this.addVectors(name, items.map((item, index) => ({ ...item, vector: vectors[index]! })));
  }

  /**
   * Stores items with vectors computed elsewhere (no embedding): the bench's and tests' path.
   * The first vectors of a collection fix its dimension.
   */
  addVectors(name: string, items: readonly (MemoryItemInput & { vector: readonly number[] | Float32Array })[]): string[] {
    if (items.length === 0 || items.length > MEMORY_LIMITS.maxVectorsPerAdd) throw new InvalidArgumentError(`'items' must have 1 to ${MEMORY_LIMITS.maxVectorsPerAdd} items`, "items");
    const prepared = items.map((item, index) => {
      const id = item.id ?? randomUUID();
      if (typeof id !== "string" || id.length === 0 || id.length > MEMORY_LIMITS.maxIdChars) throw new InvalidArgumentError(`'items[${index}].id' must be a string of 1 to ${MEMORY_LIMITS.maxIdChars} characters`, `items[${index}].id`);
      checkText(item.text, `items[${index}].text`);
      const metadata = JSON.stringify(item.metadata ?? {});
      if (metadata.length > MEMORY_LIMITS.maxMetadataChars) throw new InvalidArgumentError(`'items[${index}].metadata' is larger than ${MEMORY_LIMITS.maxMetadataChars} characters of JSON`, `items[${index}].metadata`);
      if (item.metadata !== undefined && (typeof item.metadata !== "object" || item.metadata === null || Array.isArray(item.metadata))) throw new InvalidArgumentError(`'items[${index}].metadata' must be an object`, `items[${index}].metadata`);
      const vector = Float32Array.from(item.vector);
      if (!vector.every(Number.isFinite)) throw new InvalidArgumentError(`The vector of items[${index}] has a value that is not a finite number`, `items[${index}]`);
      return { id, text: item.text, metadata, vector };
    });
    this.db.transaction(() => {
      let row = this.required(name);
      const dimensions = prepared[0]!.vector.length;
      if (row.dimensions === null) {
        checkDimensions(dimensions);
        this.db.prepare("UPDATE memory_collections SET dimensions = ? WHERE id = ?").run(dimensions, row.id);
        this.createVectorTable(row.id, dimensions);
        row = { ...row, dimensions };
      }
      const table = vectorTable(row.id);
      const existing = this.db.prepare("SELECT rowid FROM memory_items WHERE collection_id = ? AND item_id = ?").pluck();
      const removeVector = this.db.prepare(`DELETE FROM ${table} WHERE rowid = ?`);
      const removeItem = this.db.prepare("DELETE FROM memory_items WHERE rowid = ?");
      const insertItem = this.db.prepare("INSERT INTO memory_items (collection_id, item_id, text, metadata, created_at) VALUES (?, ?, ?, ?, ?)");
      const insertVector = this.db.prepare(`INSERT INTO ${table} (rowid, embedding) VALUES (?, ?)`);
      const now = Date.now();
      for (const [index, item] of prepared.entries()) {
        if (item.vector.length !== row.dimensions) {
          throw new InvalidArgumentError(`The vector of items[${index}] has ${item.vector.length} dimensions; the collection '${name}' has ${row.dimensions}`, `items[${index}]`);
        }
        const previous = existing.get(row.id, item.id) as number | bigint | undefined;
        if (previous !== undefined) {
          removeVector.run(BigInt(previous));
          removeItem.run(previous);
        }
        const rowid = insertItem.run(row.id, item.id, item.text, item.metadata, now).lastInsertRowid;
        insertVector.run(BigInt(rowid), item.vector);
      }
    })();
    return prepared.map((item) => item.id);
  }

  /** The `k` items nearest the query text (embedded with the collection's model), nearest first. */
  async search(name: string, query: string, k: number, options: MemorySearchOptions = {}, request?: MemoryEmbedRequest): Promise<MemoryMatch[]> {
    const row = this.required(name);
    checkText(query, "query");
    checkK(k);
    const [vector] = await this.embed(row.model, [query], request);
    if (!vector) throw new InvalidArgumentError(`The model '${row.model}' returned no embedding`, "model");
    return this.searchVector(name, vector, k, options);
  }

  /** The `k` items nearest a vector, nearest first (cosine distance). */
  searchVector(name: string, vector: readonly number[] | Float32Array, k: number, options: MemorySearchOptions = {}): MemoryMatch[] {
    const row = this.required(name);
    checkK(k);
    const filter = Object.entries(options.filter ?? {});
    if (filter.length > MEMORY_LIMITS.maxFilterKeys) throw new InvalidArgumentError(`'filter' may have at most ${MEMORY_LIMITS.maxFilterKeys} keys`, "filter");
    for (const [key, value] of filter) {
      if (value !== null && !["string", "number", "boolean"].includes(typeof value)) throw new InvalidArgumentError(`'filter.${key}' must be a string, number, boolean or null`, `filter.${key}`);
    }
    if (row.dimensions === null) return [];
    const query = Float32Array.from(vector);
    if (query.length !== row.dimensions) throw new InvalidArgumentError(`The query vector has ${query.length} dimensions; the collection '${name}' has ${row.dimensions}`, "query");
    const table = vectorTable(row.id);
    type Hit = { rowid: number; distance: number };
    let hits: Hit[];
    if (filter.length === 0) {
      hits = this.db.prepare(`SELECT rowid, distance FROM ${table} WHERE embedding MATCH ? AND k = ? ORDER BY distance`).all(query, k) as Hit[];
    } else {
      // json_each-free equality on each key: values are bound, keys go in as JSON paths.
      const conditions = filter.map(() => "json_extract(m.metadata, ?) IS ?").join(" AND ");
      const parameters = filter.flatMap(([key, value]) => [jsonPath(key), typeof value === "boolean" ? Number(value) : value]);
      // vec0's KNN takes a rowid set: the matching items', found by SQLite first.
      hits = this.db
        .prepare(
          `SELECT rowid, distance FROM ${table} WHERE embedding MATCH ? AND k = ?
           AND rowid IN (SELECT m.id FROM memory_items m WHERE m.collection_id = ? AND ${conditions}) ORDER BY distance`,
        )
        .all(query, k, row.id, ...parameters) as Hit[];
    }
    const item = this.db.prepare("SELECT item_id, text, metadata FROM memory_items WHERE rowid = ?");
    return hits.map((hit) => {
      const found = item.get(hit.rowid) as { item_id: string; text: string; metadata: string };
      return { id: found.item_id, text: found.text, metadata: JSON.parse(found.metadata) as MemoryMetadata, distance: hit.distance };
    });
  }

  /** Deletes items by id; returns how many there were. */
  delete(name: string, ids: readonly string[]): number {
    const row = this.required(name);
    if (ids.length === 0 || ids.length > MEMORY_LIMITS.maxIdsPerDelete) throw new InvalidArgumentError(`'ids' must have 1 to ${MEMORY_LIMITS.maxIdsPerDelete} ids`, "ids");
    let deleted = 0;
    this.db.transaction(() => {
      const find = this.db.prepare("SELECT rowid FROM memory_items WHERE collection_id = ? AND item_id = ?").pluck();
      const removeItem = this.db.prepare("DELETE FROM memory_items WHERE rowid = ?");
      const removeVector = row.dimensions === null ? undefined : this.db.prepare(`DELETE FROM ${vectorTable(row.id)} WHERE rowid = ?`);
      for (const id of ids) {
        const rowid = find.get(row.id, id) as number | undefined;
        if (rowid === undefined) continue;
        removeVector?.run(BigInt(rowid));
        removeItem.run(rowid);
        deleted++;
      }
    })();
    return deleted;
  }

  /** Nothing to free: the connection belongs to the app's database. */
  dispose(): void {}

  private row(name: string): CollectionRow | undefined {
    return this.db.prepare("SELECT * FROM memory_collections WHERE name = ?").get(name) as CollectionRow | undefined;
  }

  private required(name: string): CollectionRow {
    const row = this.row(name);
    if (!row) throw new InvalidArgumentError(`No memory collection named '${name}'`, "name");
    return row;
  }

  private describe(row: CollectionRow): MemoryCollection {
    const items = this.db.prepare("SELECT count(*) FROM memory_items WHERE collection_id = ?").pluck().get(row.id) as number;
    return { name: row.name, model: row.model, ...(row.dimensions === null ? {} : { dimensions: row.dimensions }), items, createdAt: row.created_at };
  }

  private createVectorTable(collectionId: number, dimensions: number): void {
    this.db.exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${vectorTable(collectionId)} USING vec0(embedding float[${dimensions}] distance_metric=cosine)`);
  }
}

/** The vec0 table of a collection: named by its integer id, never by the client's name. */
function vectorTable(collectionId: number): string {
  return `memory_vec_${Math.trunc(collectionId)}`;
}

/** A JSON path naming one top-level key, quoted so any key is taken literally. */
function jsonPath(key: string): string {
  return `$.${JSON.stringify(key)}`;
}

function checkName(name: string): void {
  if (!MEMORY_COLLECTION_NAME.test(name)) throw new InvalidArgumentError("'name' must be 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit", "name");
}

function checkText(text: unknown, param: string): void {
  if (typeof text !== "string" || text.length === 0 || text.length > MEMORY_LIMITS.maxTextChars) {
    throw new InvalidArgumentError(`'${param}' must be a string of 1 to ${MEMORY_LIMITS.maxTextChars} characters`, param);
  }
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MEMORY_LIMITS.maxK) throw new InvalidArgumentError(`'k' must be an integer from 1 to ${MEMORY_LIMITS.maxK}`, "k");
}

function checkDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MEMORY_LIMITS.maxDimensions) {
    throw new InvalidArgumentError(`'dimensions' must be an integer from 1 to ${MEMORY_LIMITS.maxDimensions}`, "dimensions");
  }
}
