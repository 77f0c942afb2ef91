import type { AppDatabase } from "./AppDatabase.js";

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** Most files kept; storing one more is refused until some are deleted. Default: 1000. */
  maxFiles?: number;
  /** Most bytes of all files together; storing more is refused. Default: 2 GiB. */
  maxTotalBytes?: number;
}

export const DEFAULT_MAX_FILES = 1000;
export const DEFAULT_MAX_TOTAL_FILE_BYTES = 2 * 1024 * 1024 * 1024;

/** One stored file's description (OpenAI's file object, without its content). */
export interface StoredFileInfo {
  id: string;
  filename: string;
  /** "batch" (uploaded input) or "batch_output" (a batch's results or errors). */
  purpose: string;
  bytes: number;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Fingerprint of the API key that uploaded it (or whose batch wrote it); absent: made without a key. */
  ownerKeyId?: string;
}

interface FileRow {
  id: string;
  filename: string;
  purpose: string;
  bytes: number;
  created_at: number;
  owner_key_id: string | null;
}

/** Thrown when storing a file would exceed the store's bounds. */
export class FileStoreFullError extends Error {
  readonly code = "file_store_full";
  /** A client error: the caller deletes files, then tries again. */
  readonly statusCode = 400;
}

/**
 * Files of the OpenAI Files API (batch inputs and outputs) in SQLite (the `files` table, contents
 * as blobs: each is bounded by the upload limit, all together by `maxTotalBytes`).
 */
export class FileStore {
  private readonly maxFiles: number;
  private readonly maxTotalBytes: number;

  constructor(
    private readonly database: AppDatabase,
    options: FileStoreOptions = {},
  ) {
    this.maxFiles = Math.max(1, options.maxFiles ?? DEFAULT_MAX_FILES);
    this.maxTotalBytes = Math.max(1, options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_FILE_BYTES);
  }

  private get db() {
    return this.database.db;
  }

  /**
   * Stores a file and returns its description.
   * @throws FileStoreFullError when it would exceed `maxFiles` or `maxTotalBytes`.
   */
  save(file: { id: string; filename: string; purpose: string; content: Buffer; ownerKeyId?: string }): StoredFileInfo {
    const info: StoredFileInfo = {
      id: file.id,
      filename: file.filename,
      purpose: file.purpose,
      bytes: file.content.length,
      createdAt: Date.now(),
      ...(file.ownerKeyId !== undefined ? { ownerKeyId: file.ownerKeyId } : {}),
    };
    this.db.transaction(() => {
      const totals = this.db.prepare("SELECT COUNT(*) AS count, COALESCE(SUM(bytes), 0) AS bytes FROM files").get() as { count: number; bytes: number };
      if (totals.count + 1 > this.maxFiles) throw new FileStoreFullError(`At most ${this.maxFiles} files are kept: delete some first`);
      if (totals.bytes + info.bytes > this.maxTotalBytes) throw new FileStoreFullError(`At most ${this.maxTotalBytes} bytes of files are kept: delete some first`);
      this.db
        .prepare("INSERT INTO files (id, filename, purpose, bytes, created_at, owner_key_id, content) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(info.id, info.filename, info.purpose, info.bytes, info.createdAt, info.ownerKeyId ?? null, file.content);
    })();
    return info;
  }

  /** A file's description, or undefined. */
  get(id: string): StoredFileInfo | undefined {
    const row = this.db.prepare("SELECT id, filename, purpose, bytes, created_at, owner_key_id FROM files WHERE id = ?").get(id) as FileRow | undefined;
    return row ? toInfo(row) : undefined;
  }

  /** A file's content, or undefined. */
  content(id: string): Buffer | undefined {
    const row = this.db.prepare("SELECT content FROM files WHERE id = ?").get(id) as { content: Buffer } | undefined;
    return row?.content;
  }

  /** The files of one owner (see {@link StoredFileInfo.ownerKeyId}), newest first, optionally of one purpose. */
  list(ownerKeyId: string | undefined, purpose?: string): StoredFileInfo[] {
    const rows = this.db
      .prepare("SELECT id, filename, purpose, bytes, created_at, owner_key_id FROM files WHERE owner_key_id IS ? AND (? IS NULL OR purpose = ?) ORDER BY created_at DESC, rowid DESC")
      .all(ownerKeyId ?? null, purpose ?? null, purpose ?? null) as FileRow[];
    return rows.map(toInfo);
  }

  /** Deletes a file; false when there was none. */
  remove(id: string): boolean {
    return this.db.prepare("DELETE FROM files WHERE id = ?").run(id).changes > 0;
  }

  /** Holds nothing of its own (the database belongs to the core). */
  dispose(): void {}
}

function toInfo(row: FileRow): StoredFileInfo {
  return {
    id: row.id,
    filename: row.filename,
    purpose: row.purpose,
    bytes: row.bytes,
    createdAt: row.created_at,
    ...(row.owner_key_id !== null ? { ownerKeyId: row.owner_key_id } : {}),
  };
}
