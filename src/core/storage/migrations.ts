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
  // 2: the desktop app's data: conversations and their messages, settings, API keys created in the UI.
  `CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     title TEXT NOT NULL,
     model_id TEXT,
     system_prompt TEXT NOT NULL DEFAULT '',
     settings TEXT NOT NULL DEFAULT '{}',
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX conversations_updated ON conversations (updated_at);
   CREATE TABLE messages (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     position INTEGER NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     content TEXT NOT NULL,
     model_id TEXT,
     stats TEXT,
     created_at INTEGER NOT NULL,
     UNIQUE (conversation_id, position)
   );
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     prefix TEXT NOT NULL,
     sha256 BLOB NOT NULL UNIQUE,
     created_at INTEGER NOT NULL
   );`,
  // 3: the router: usage and cost of every routed request, and remote providers added in the app.
  `CREATE TABLE usage_log (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL,
     provider TEXT NOT NULL,
     model TEXT NOT NULL,
     kind TEXT NOT NULL,
     key_id TEXT,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     latency_ms REAL NOT NULL,
     failed INTEGER NOT NULL,
     cache_hit INTEGER NOT NULL,
     cost_usd REAL NOT NULL,
     saved_usd REAL NOT NULL
   );
   CREATE INDEX usage_log_time ON usage_log (time);
   CREATE TABLE providers (
     id TEXT PRIMARY KEY,
     config TEXT NOT NULL,
     api_key TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // 4: API key scopes. Keys made before scopes existed become 'inference' (the HTTP API only):
  // least privilege; an admin key for the app is made anew, or given to serve with --api-key.
  `ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'inference' CHECK (scope IN ('inference', 'admin'));`,
  // 5: keys whose requests never leave this machine (the router serves them locally or refuses).
  `ALTER TABLE api_keys ADD COLUMN local_only INTEGER NOT NULL DEFAULT 0 CHECK (local_only IN (0, 1));`,
  // 6: an assistant message's thinking, apart from its answer (thinking models).
  `ALTER TABLE messages ADD COLUMN reasoning TEXT;`,
  // 7: OpenAI Responses API: stored responses with the input items they answered (previous_response_id).
  `CREATE TABLE responses (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL,
     owner_key_id TEXT,
     created_at INTEGER NOT NULL,
     response TEXT NOT NULL,
     input_items TEXT NOT NULL
   );
   CREATE INDEX responses_created ON responses (created_at);`,
  // 8: message versions (regenerate, edit) as a tree: each message has a parent, siblings are its
  // versions, and a conversation shows the branch that ends at its current leaf; a user message
  // whose reply failed is marked 'failed'. position becomes the depth (so siblings share it).
  `CREATE TABLE messages_tree (
     id TEXT PRIMARY KEY,
     conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
     parent_id TEXT,
     position INTEGER NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     content TEXT NOT NULL,
     reasoning TEXT,
     model_id TEXT,
     stats TEXT,
     status TEXT CHECK (status IS NULL OR status = 'failed'),
     created_at INTEGER NOT NULL
   );
   INSERT INTO messages_tree (id, conversation_id, parent_id, position, role, content, reasoning, model_id, stats, created_at)
     SELECT id, conversation_id,
            LAG(id) OVER (PARTITION BY conversation_id ORDER BY position),
            ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY position) - 1,
            role, content, reasoning, model_id, stats, created_at
     FROM messages;
   DROP TABLE messages;
   ALTER TABLE messages_tree RENAME TO messages;
   CREATE INDEX messages_conversation ON messages (conversation_id, parent_id);
   ALTER TABLE conversations ADD COLUMN current_leaf_id TEXT;
   UPDATE conversations SET current_leaf_id =
     (SELECT m.id FROM messages m WHERE m.conversation_id = conversations.id ORDER BY m.position DESC LIMIT 1);`,
  // 9: the Batch API: uploaded files (contents as blobs, bounded by the upload limit), batch jobs,
  // and each batch line's result, recorded before the next line runs (a restart skips them).
  // owner_key_id: the API key that made a file or batch (null: none); only it sees them.
  `CREATE TABLE files (
     id TEXT PRIMARY KEY,
     filename TEXT NOT NULL,
     purpose TEXT NOT NULL,
     bytes INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     owner_key_id TEXT,
     content BLOB NOT NULL
   );
   CREATE TABLE batches (
     id TEXT PRIMARY KEY,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     owner_key_id TEXT,
     batch TEXT NOT NULL
   );
   CREATE INDEX batches_status ON batches (status, created_at);
   CREATE TABLE batch_results (
     batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
     line_index INTEGER NOT NULL,
     failed INTEGER NOT NULL,
     result TEXT NOT NULL,
     PRIMARY KEY (batch_id, line_index)
   );`,
  // 10: agents' memory: named collections of texts with metadata; each collection's vectors live
  // in a sqlite-vec vec0 table (memory_vec_<id>, keyed by the item's rowid) its store creates.
  `CREATE TABLE memory_collections (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL UNIQUE,
     model TEXT NOT NULL,
     dimensions INTEGER,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE memory_items (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     collection_id INTEGER NOT NULL REFERENCES memory_collections (id) ON DELETE CASCADE,
     item_id TEXT NOT NULL,
     text TEXT NOT NULL,
     metadata TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     UNIQUE (collection_id, item_id)
   );`,
];
