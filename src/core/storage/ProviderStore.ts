import type { ProviderConfig } from "../router/routerConfig.js";
import type { AppDatabase } from "./AppDatabase.js";

/** A provider added in the app, as stored (its key kept apart from the rest of its config). */
export interface StoredProvider {
  config: Omit<ProviderConfig, "apiKey">;
  apiKey?: string;
  createdAt: number;
  updatedAt: number;
}

const SELECT = "SELECT config, api_key AS apiKey, created_at AS createdAt, updated_at AS updatedAt FROM providers";

interface ProviderRow {
  config: string;
  apiKey: string | null;
  createdAt: number;
  updatedAt: number;
}

function fromRow(row: ProviderRow): StoredProvider {
  return {
    config: JSON.parse(row.config) as StoredProvider["config"],
    ...(row.apiKey ? { apiKey: row.apiKey } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * Remote providers added in the app, in SQLite. The key is stored on this machine as the app's
 * other secrets are; it never goes back to the UI (which sees it masked).
 */
export class ProviderStore {
  constructor(private readonly database: AppDatabase) {}

  list(): StoredProvider[] {
    return (this.database.db.prepare(`${SELECT} ORDER BY created_at, rowid`).all() as ProviderRow[]).map(fromRow);
  }

  get(id: string): StoredProvider | undefined {
    const row = this.database.db.prepare(`${SELECT} WHERE id = ?`).get(id) as ProviderRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Adds or replaces a provider. `apiKey` undefined keeps the stored key; "" removes it. */
  save(config: ProviderConfig): StoredProvider {
    const { apiKey, ...rest } = config;
    const now = Date.now();
    const existing = this.get(config.id);
    const key = apiKey === undefined ? (existing?.apiKey ?? null) : apiKey === "" ? null : apiKey;
    this.database.db
      .prepare(
        `INSERT INTO providers (id, config, api_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET config = excluded.config, api_key = excluded.api_key, updated_at = excluded.updated_at`,
      )
      .run(config.id, JSON.stringify(rest), key, existing?.createdAt ?? now, now);
    return this.get(config.id)!;
  }

  remove(id: string): boolean {
    return this.database.db.prepare("DELETE FROM providers WHERE id = ?").run(id).changes > 0;
  }
}
