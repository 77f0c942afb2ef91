import type { AppDatabase } from "./AppDatabase.js";

/** OpenAI's batch statuses, in the order a batch goes through them. */
export type BatchStatus = "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";

/** The statuses in which the runner still has work to do (a restart resumes them). */
export const ACTIVE_BATCH_STATUSES: readonly BatchStatus[] = ["validating", "in_progress", "finalizing", "cancelling"];

/** OpenAI's batch object, as `GET /v1/batches/{id}` returns it (timestamps in seconds). */
export interface BatchObject {
  id: string;
  object: "batch";
  endpoint: string;
  errors: { object: "list"; data: Array<{ code: string; message: string; line: number | null; param: string | null }> } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number | null;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

/** One line's recorded result (a line of the output or error file). */
export interface BatchLineResult {
  index: number;
  failed: boolean;
  /** The output line's object `{id, custom_id, response, error}`. */
  result: Record<string, unknown>;
}

/**
 * Batch jobs of the OpenAI Batch API in SQLite (`batches`, `batch_results`). Each line's result
 * is recorded in the same transaction that counts it, so after a crash the counts and the
 * recorded lines agree, and a restart runs only the lines never recorded.
 */
export class BatchStore {
  constructor(private readonly database: AppDatabase) {}

  private get db() {
    return this.database.db;
  }

  /** Stores a new batch of the API key `ownerKeyId` (absent: made without a key). */
  create(batch: BatchObject, ownerKeyId?: string): void {
    this.db
      .prepare("INSERT INTO batches (id, status, created_at, owner_key_id, batch) VALUES (?, ?, ?, ?, ?)")
      .run(batch.id, batch.status, batch.created_at, ownerKeyId ?? null, JSON.stringify(batch));
  }

  /** The API key that made a batch: a fingerprint, null for none; undefined when there is no such batch. */
  ownerOf(id: string): string | null | undefined {
    const row = this.db.prepare("SELECT owner_key_id FROM batches WHERE id = ?").get(id) as { owner_key_id: string | null } | undefined;
    return row ? row.owner_key_id : undefined;
  }

  /** A batch, or undefined. */
  get(id: string): BatchObject | undefined {
    const row = this.db.prepare("SELECT batch FROM batches WHERE id = ?").get(id) as { batch: string } | undefined;
    return row ? (JSON.parse(row.batch) as BatchObject) : undefined;
  }

  /**
   * Batches newest first: at most `limit`, those created before the batch `after` when given
   * (OpenAI's paging); of one owner when `owner` is given (`{ ownerKeyId: undefined }`: made without a key).
   */
  list(limit: number, after?: string, owner?: { ownerKeyId: string | undefined }): BatchObject[] {
    const rows = this.db
      .prepare(
        `SELECT batch FROM batches
         WHERE (? IS NULL OR rowid < (SELECT rowid FROM batches WHERE id = ?)) AND (? = 0 OR owner_key_id IS ?)
         ORDER BY rowid DESC LIMIT ?`,
      )
      .all(after ?? null, after ?? null, owner ? 1 : 0, owner?.ownerKeyId ?? null, limit) as Array<{ batch: string }>;
    return rows.map((row) => JSON.parse(row.batch) as BatchObject);
  }

  /** Batches the runner has work for, oldest first. */
  active(): BatchObject[] {
    const marks = ACTIVE_BATCH_STATUSES.map(() => "?").join(", ");
    const rows = this.db.prepare(`SELECT batch FROM batches WHERE status IN (${marks}) ORDER BY rowid`).all(...ACTIVE_BATCH_STATUSES) as Array<{ batch: string }>;
    return rows.map((row) => JSON.parse(row.batch) as BatchObject);
  }

  /** Number of batches by status (for metrics). */
  countByStatus(): Record<string, number> {
    const rows = this.db.prepare("SELECT status, COUNT(*) AS count FROM batches GROUP BY status").all() as Array<{ status: string; count: number }>;
    return Object.fromEntries(rows.map((row) => [row.status, row.count]));
  }

  /**
   * Applies `change` to the stored batch atomically and returns the new object; undefined when
   * the batch is gone. `change` returns undefined to leave it as it is.
   */
  update(id: string, change: (batch: BatchObject) => BatchObject | undefined): BatchObject | undefined {
    return this.db.transaction(() => {
      const current = this.get(id);
      if (!current) return undefined;
      const next = change(current);
      if (!next) return current;
      this.db.prepare("UPDATE batches SET status = ?, batch = ? WHERE id = ?").run(next.status, JSON.stringify(next), id);
      return next;
    })();
  }

  /** Records a line's result and counts it, in one transaction; a line already recorded is left as it was. */
  recordResult(batchId: string, line: BatchLineResult): void {
    this.db.transaction(() => {
      const inserted = this.db
        .prepare("INSERT OR IGNORE INTO batch_results (batch_id, line_index, failed, result) VALUES (?, ?, ?, ?)")
        .run(batchId, line.index, line.failed ? 1 : 0, JSON.stringify(line.result));
      if (inserted.changes === 0) return;
      this.update(batchId, (batch) => ({
        ...batch,
        request_counts: {
          ...batch.request_counts,
          completed: batch.request_counts.completed + (line.failed ? 0 : 1),
          failed: batch.request_counts.failed + (line.failed ? 1 : 0),
        },
      }));
    })();
  }

  /** Indexes of the lines already recorded. */
  recordedLines(batchId: string): Set<number> {
    const rows = this.db.prepare("SELECT line_index FROM batch_results WHERE batch_id = ?").all(batchId) as Array<{ line_index: number }>;
    return new Set(rows.map((row) => row.line_index));
  }

  /** Every recorded result, in input order. */
  results(batchId: string): BatchLineResult[] {
    const rows = this.db.prepare("SELECT line_index, failed, result FROM batch_results WHERE batch_id = ? ORDER BY line_index").all(batchId) as Array<{
      line_index: number;
      failed: number;
      result: string;
    }>;
    return rows.map((row) => ({ index: row.line_index, failed: row.failed === 1, result: JSON.parse(row.result) as Record<string, unknown> }));
  }

  /** Holds nothing of its own (the database belongs to the core). */
  dispose(): void {}
}
