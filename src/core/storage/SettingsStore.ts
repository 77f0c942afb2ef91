import { EventEmitter } from "node:events";
import type { AppDatabase } from "./AppDatabase.js";

/** Events of {@link SettingsStore}. */
export interface SettingsStoreEvents {
  /** A value was written or deleted. */
  changed: [key: string];
}

/**
 * Key/value settings in SQLite (the `settings` table), each value stored as JSON. Readers
 * validate what they read: a value written by another version may have another shape.
 */
export class SettingsStore extends EventEmitter<SettingsStoreEvents> {
  constructor(private readonly database: AppDatabase) {
    super();
  }

  /** The parsed value of a key, or undefined when it is unset (or not JSON). */
  read(key: string): unknown {
    const row = this.database.db.prepare("SELECT value FROM settings WHERE key = ?").get(key) as { value: string } | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value) as unknown;
    } catch {
      return undefined;
    }
  }

  write(key: string, value: unknown): void {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`The value of setting '${key}' is not JSON`);
    this.database.db.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(key, text);
    this.emit("changed", key);
  }

  delete(key: string): void {
    if (this.database.db.prepare("DELETE FROM settings WHERE key = ?").run(key).changes > 0) this.emit("changed", key);
  }

  dispose(): void {
    this.removeAllListeners();
  }
}
