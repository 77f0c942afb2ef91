import type { Statement } from "better-sqlite3";
import type { AppDatabase } from "./AppDatabase.js";

/** One API request as the audit log keeps it. */
export interface AuditEntry {
  time: string;
  requestId: string;
  clientAddress?: string;
  /** A short fingerprint of the API key used, never the key. */
  keyId?: string;
  method: string;
  route: string;
  model?: string;
  promptTokens?: number;
  completionTokens?: number;
  status: number;
  durationMs: number;
  /** Only when prompt logging is turned on. */
  prompt?: string;
}

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  /** Store prompt text too. Default: false (only counts and metadata). */
  logPrompts?: boolean;
}

/** Append-only log of API requests in SQLite. */
export class AuditLog {
  private readonly insert: Statement;
  readonly logPrompts: boolean;

  constructor(
    private readonly database: AppDatabase,
    options: AuditLogOptions = {},
  ) {
    this.logPrompts = options.logPrompts ?? false;
    this.insert = database.db.prepare(
      `INSERT INTO audit_log (time, request_id, client_address, key_id, method, route, model, prompt_tokens, completion_tokens, status, duration_ms, prompt)
       VALUES (@time, @requestId, @clientAddress, @keyId, @method, @route, @model, @promptTokens, @completionTokens, @status, @durationMs, @prompt)`,
    );
  }

  record(entry: AuditEntry): void {
    this.insert.run({
      clientAddress: null,
      keyId: null,
      model: null,
      promptTokens: null,
      completionTokens: null,
      ...entry,
      prompt: this.logPrompts ? (entry.prompt ?? null) : null,
    });
  }

  /** The newest entries first. */
  recent(limit = 100): AuditEntry[] {
    const rows = this.database.db
      .prepare(
        `SELECT time, request_id AS requestId, client_address AS clientAddress, key_id AS keyId, method, route, model,
                prompt_tokens AS promptTokens, completion_tokens AS completionTokens, status, duration_ms AS durationMs, prompt
         FROM audit_log ORDER BY id DESC LIMIT ?`,
      )
      .all(limit) as Array<Record<string, unknown>>;
    return rows.map((row) => Object.fromEntries(Object.entries(row).filter(([, value]) => value !== null)) as unknown as AuditEntry);
  }
}
