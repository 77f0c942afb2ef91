import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ApiKeyInfo } from "../../shared/contract/server.js";
import type { AppDatabase } from "./AppDatabase.js";

/** Every key this store makes starts with this. */
export const API_KEY_PREFIX = "mk-";
/** Characters of a key kept in clear to recognise it ("mk-" and 4 more). */
const VISIBLE_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

/** Events of {@link ApiKeyStore}. */
export interface ApiKeyStoreEvents {
  /** A key was created or revoked. */
  changed: [];
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  sha256: Buffer;
  created_at: number;
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * API keys created in the app (the `api_keys` table). Only each key's SHA-256 is stored: the
 * key itself exists once, in the answer to {@link create}. Verification compares the
 * candidate's digest with every stored digest in constant time (no early exit), so timing
 * reveals neither a key nor which key nearly matched.
 */
export class ApiKeyStore extends EventEmitter<ApiKeyStoreEvents> {
  /** Digests by key id, read once and kept in step with every change. */
  private digests: Array<{ id: string; digest: Buffer }>;

  constructor(private readonly database: AppDatabase) {
    super();
    this.digests = this.rows().map((row) => ({ id: row.id, digest: Buffer.from(row.sha256) }));
  }

  /** How many keys exist. */
  get size(): number {
    return this.digests.length;
  }

  /** Makes a key: `mk-` and 32 random bytes in base64url. The key is returned here only. */
  create(name: string): { key: string; info: ApiKeyInfo } {
    const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
    const info: ApiKeyInfo = { id: randomUUID(), name, createdAt: Date.now(), prefix: key.slice(0, VISIBLE_PREFIX_LENGTH) };
    const digest = sha256(key);
    this.database.db
      .prepare("INSERT INTO api_keys (id, name, prefix, sha256, created_at) VALUES (?, ?, ?, ?, ?)")
      .run(info.id, info.name, info.prefix, digest, info.createdAt);
    this.digests = [...this.digests, { id: info.id, digest }];
    this.emit("changed");
    return { key, info };
  }

  /** Every key's description (never the key), oldest first. */
  list(): ApiKeyInfo[] {
    return this.rows().map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, prefix: row.prefix }));
  }

  /** Deletes a key; false when there is no such key. */
  revoke(id: string): boolean {
    const removed = this.database.db.prepare("DELETE FROM api_keys WHERE id = ?").run(id).changes > 0;
    if (removed) {
      this.digests = this.digests.filter((entry) => entry.id !== id);
      this.emit("changed");
    }
    return removed;
  }

  /** The id of the stored key equal to `candidate`, else undefined. */
  verify(candidate: string | undefined): string | undefined {
    if (candidate === undefined || candidate.length === 0) return undefined;
    const digest = sha256(candidate);
    let matched: string | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(digest, entry.digest) && matched === undefined) matched = entry.id;
    }
    return matched;
  }

  private rows(): KeyRow[] {
    return this.database.db.prepare("SELECT id, name, prefix, sha256, created_at FROM api_keys ORDER BY created_at, rowid").all() as KeyRow[];
  }

  dispose(): void {
    this.removeAllListeners();
  }
}
