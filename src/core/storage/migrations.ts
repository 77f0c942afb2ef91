/**
 * Schema migrations, applied in order; a migration is never edited once released — add a new
 * one at the end instead. Index + 1 is the schema version (SQLite's user_version).
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time TEXT NOT NULL,
     request_id TEXT NOT NULL,
     client_address TEXT,
     key_id TEXT,
     method TEXT NOT NULL,
     route TEXT NOT NULL,
     model TEXT,
     prompt_tokens INTEGER,
     completion_tokens INTEGER,
     status INTEGER NOT NULL,
     duration_ms REAL NOT NULL,
     prompt TEXT
   );
   CREATE INDEX audit_log_time ON audit_log (time);`,
];
