import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ApiKeyInfo, ApiKeyScope } from "../../shared/contract/server.js";
import type { AppDatabase } from "./AppDatabase.js";

/** Every key this store makes starts with this. */
export const API_KEY_PREFIX = "mk-";
/** Characters of a key kept in clear to recognise it ("mk-" and 4 more). */
const VISIBLE_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

/** Events of {@link ApiKeyStore}. */
export interface ApiKeyStoreEvents {
  /** A key was created or revoked. */
  changed: [];
  /** The key with this id was revoked (after `changed`). */
  revoked: [id: string];
}

/** A stored key that matched a candidate. */
export interface StoredKeyMatch {
  id: string;
  scope: ApiKeyScope;
  /** Its requests must never leave this machine. */
  localOnly: boolean;
}

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  sha256: Buffer;
  created_at: number;
  scope: ApiKeyScope;
  local_only: 0 | 1;
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * API keys created in the app (the `api_keys` table), each with its scope. Only each key's
 * SHA-256 is stored: the key itself exists once, in the answer to {@link create}. Verification
 * compares the candidate's digest with every stored digest in constant time (no early exit),
 * so timing reveals neither a key nor which key nearly matched.
 */
export class ApiKeyStore extends EventEmitter<ApiKeyStoreEvents> {
  /** Digests and scopes by key id, read once and kept in step with every change. */
  private entries: Array<{ id: string; digest: Buffer; scope: ApiKeyScope; localOnly: boolean }>;

  constructor(private readonly database: AppDatabase) {
    super();
    this.entries = this.rows().map((row) => ({ id: row.id, digest: Buffer.from(row.sha256), scope: row.scope, localOnly: row.local_only === 1 }));
  }

  /** How many keys exist. */
  get size(): number {
    return this.entries.length;
  }

  /** How many keys of `scope` exist. */
  countOf(scope: ApiKeyScope): number {
    return this.entries.filter((entry) => entry.scope === scope).length;
  }

  /** True while the key with this id exists (it was not revoked). */
  has(id: string): boolean {
    return this.entries.some((entry) => entry.id === id);
  }

  /**
   * Makes a key: `mk-` and 32 random bytes in base64url. The key is returned here only.
   * @param scope What the key may do. Default: `inference` (the HTTP API only).
   */
  create(name: string, scope: ApiKeyScope = "inference", options: { localOnly?: boolean } = {}): { key: string; info: ApiKeyInfo } {
    const localOnly = options.localOnly === true;
    const key = API_KEY_PREFIX + randomBytes(32).toString("base64url");
    const info: ApiKeyInfo = { id: randomUUID(), name, createdAt: Date.now(), prefix: key.slice(0, VISIBLE_PREFIX_LENGTH), scope, localOnly };
    const digest = sha256(key);
    this.database.db
      .prepare("INSERT INTO api_keys (id, name, prefix, sha256, created_at, scope, local_only) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(info.id, info.name, info.prefix, digest, info.createdAt, info.scope, localOnly ? 1 : 0);
    this.entries = [...this.entries, { id: info.id, digest, scope, localOnly }];
    this.emit("changed");
    return { key, info };
  }

  /** Every key's description (never the key), oldest first. */
  list(): ApiKeyInfo[] {
    return this.rows().map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at, prefix: row.prefix, scope: row.scope, localOnly: row.local_only === 1 }));
  }

  /** Deletes a key; false when there is no such key. Emits `changed`, then `revoked`. */
  revoke(id: string): boolean {
    const removed = this.database.db.prepare("DELETE FROM api_keys WHERE id = ?").run(id).changes > 0;
    if (removed) {
      this.entries = this.entries.filter((entry) => entry.id !== id);
      this.emit("changed");
      this.emit("revoked", id);
    }
    return removed;
  }

  /** The id of the stored key equal to `candidate`, else undefined. */
  verify(candidate: string | undefined): string | undefined {
    return this.find(candidate)?.id;
  }

  /** The stored key equal to `candidate` (its id and scope), else undefined. Constant time. */
  find(candidate: string | undefined): StoredKeyMatch | undefined {
    if (candidate === undefined || candidate.length === 0) return undefined;
    const digest = sha256(candidate);
    let matched: StoredKeyMatch | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(digest, entry.digest) && matched === undefined) matched = { id: entry.id, scope: entry.scope, localOnly: entry.localOnly };
    }
    return matched;
  }

  private rows(): KeyRow[] {
    return this.database.db.prepare("SELECT id, name, prefix, sha256, created_at, scope, local_only FROM api_keys ORDER BY created_at, rowid").all() as KeyRow[];
  }

  dispose(): void {
    this.removeAllListeners();
  }
}
