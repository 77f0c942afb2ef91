import type { AppDatabase } from "./AppDatabase.js";

/** A JSON object as an API returns it (the store does not look inside). */
export type JsonObject = Record<string, unknown>;

/** Options of {@link ResponseStore}. */
export interface ResponseStoreOptions {
  /** Most responses kept; saving one more deletes the oldest. Default: 1000. */
  maxResponses?: number;
  /** Responses older than this are deleted (and no longer found). Default: 30 days, as OpenAI keeps them. */
  maxAgeMs?: number;
}

export const DEFAULT_MAX_STORED_RESPONSES = 1000;
export const DEFAULT_RESPONSE_MAX_AGE_MS = 30 * 24 * 60 * 60 * 1000;

/** One stored response of the OpenAI Responses API. */
export interface StoredResponse {
  id: string;
  /** The id of the conversation's first response: a chain of `previous_response_id`s shares it. */
  conversationId: string;
  /** Fingerprint of the API key that made it: only requests with that key find it. Absent: made without a key. */
  ownerKeyId?: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The response object, as `GET /v1/responses/{id}` returns it. */
  response: JsonObject;
  /** Every input item the model answered, in order: the earlier turns' inputs and outputs, then this turn's input. */
  inputItems: JsonObject[];
}

interface ResponseRow {
  id: string;
  conversation_id: string;
  owner_key_id: string | null;
  created_at: number;
  response: string;
  input_items: string;
}

/**
 * Responses of the OpenAI Responses API in SQLite (the `responses` table), so that a
 * conversation continues by `previous_response_id` without resending its history. Each is
 * found only with the API key that made it (ids may leak into logs; conversations must not).
 * Bounded: at most `maxResponses`, none older than `maxAgeMs` (both pruned on each save).
 */
export class ResponseStore {
  private readonly maxResponses: number;
  private readonly maxAgeMs: number;

  constructor(
    private readonly database: AppDatabase,
    options: ResponseStoreOptions = {},
  ) {
    this.maxResponses = Math.max(1, options.maxResponses ?? DEFAULT_MAX_STORED_RESPONSES);
    this.maxAgeMs = Math.max(1, options.maxAgeMs ?? DEFAULT_RESPONSE_MAX_AGE_MS);
  }

  private get db() {
    return this.database.db;
  }

  /** Stores (or replaces) a response, then deletes the expired and the oldest beyond the bound. */
  save(stored: StoredResponse): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT OR REPLACE INTO responses (id, conversation_id, owner_key_id, created_at, response, input_items) VALUES (?, ?, ?, ?, ?, ?)")
        .run(stored.id, stored.conversationId, stored.ownerKeyId ?? null, stored.createdAt, JSON.stringify(stored.response), JSON.stringify(stored.inputItems));
      this.db.prepare("DELETE FROM responses WHERE created_at < ?").run(Date.now() - this.maxAgeMs);
      this.db
        .prepare("DELETE FROM responses WHERE id IN (SELECT id FROM responses ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?)")
        .run(this.maxResponses);
    })();
  }

  /** A stored response of that owner (see {@link StoredResponse.ownerKeyId}), or undefined (never stored, someone else's, deleted, or expired). */
  get(id: string, ownerKeyId?: string): StoredResponse | undefined {
    const row = this.db
      .prepare("SELECT id, conversation_id, owner_key_id, created_at, response, input_items FROM responses WHERE id = ? AND owner_key_id IS ?")
      .get(id, ownerKeyId ?? null) as ResponseRow | undefined;
    if (!row || row.created_at < Date.now() - this.maxAgeMs) return undefined;
    return {
      id: row.id,
      conversationId: row.conversation_id,
      ...(row.owner_key_id !== null ? { ownerKeyId: row.owner_key_id } : {}),
      createdAt: row.created_at,
      response: JSON.parse(row.response) as JsonObject,
      inputItems: JSON.parse(row.input_items) as JsonObject[],
    };
  }

  /** Deletes a response of that owner; false when there was none. */
  remove(id: string, ownerKeyId?: string): boolean {
    return this.db.prepare("DELETE FROM responses WHERE id = ? AND owner_key_id IS ?").run(id, ownerKeyId ?? null).changes > 0;
  }

  /** Holds nothing of its own (the database belongs to the core). */
  dispose(): void {}
}
