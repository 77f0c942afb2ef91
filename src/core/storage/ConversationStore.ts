import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type { ChatSettings, Conversation, ConversationSummary, MessageStats, StoredMessage } from "../../shared/contract/conversations.js";
import type { AppDatabase } from "./AppDatabase.js";

/** The title of a conversation nobody named yet; the first message names it. */
export const UNTITLED_CONVERSATION = "New chat";

/** A message to append. */
export interface NewMessage {
  role: StoredMessage["role"];
  content: string;
  /** An assistant message's thinking. Default: none. */
  reasoning?: string;
  /** Default: a random UUID. */
  id?: string;
  modelId?: string;
  stats?: MessageStats;
  /** Default: now. */
  createdAt?: number;
}

/** Fields of a conversation that can change. */
export interface ConversationPatch {
  title?: string;
  /** null removes the model. */
  modelId?: string | null;
  systemPrompt?: string;
  settings?: ChatSettings;
}

/** Events of {@link ConversationStore}. */
export interface ConversationStoreEvents {
  /** A conversation was created, changed, removed, or got a message. */
  changed: [];
}

interface ConversationRow {
  id: string;
  title: string;
  model_id: string | null;
  system_prompt: string;
  settings: string;
  created_at: number;
  updated_at: number;
  message_count: number;
}

interface MessageRow {
  id: string;
  position: number;
  role: StoredMessage["role"];
  content: string;
  reasoning: string | null;
  model_id: string | null;
  stats: string | null;
  created_at: number;
}

function toSummary(row: ConversationRow): ConversationSummary {
  return {
    id: row.id,
    title: row.title,
    ...(row.model_id !== null ? { modelId: row.model_id } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    messageCount: row.message_count,
  };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    role: row.role,
    content: row.content,
    ...(row.reasoning !== null && row.reasoning !== "" ? { reasoning: row.reasoning } : {}),
    createdAt: row.created_at,
    ...(row.model_id !== null ? { modelId: row.model_id } : {}),
    ...(row.stats !== null ? { stats: JSON.parse(row.stats) as MessageStats } : {}),
  };
}

function parseSettings(text: string): ChatSettings {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as ChatSettings) : {};
  } catch {
    return {};
  }
}

const SUMMARY_COLUMNS = `c.id, c.title, c.model_id, c.system_prompt, c.settings, c.created_at, c.updated_at,
  (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count`;

/**
 * Conversations and their messages in SQLite (the `conversations` and `messages` tables).
 * Messages keep their order by position; every change emits `changed`.
 */
export class ConversationStore extends EventEmitter<ConversationStoreEvents> {
  private lastTime = 0;

  constructor(private readonly database: AppDatabase) {
    super();
  }

  private get db() {
    return this.database.db;
  }

  /** Now, strictly increasing, so "most recently updated" is never a tie. */
  private now(): number {
    this.lastTime = Math.max(Date.now(), this.lastTime + 1);
    return this.lastTime;
  }

  /** Every conversation, most recently updated first. */
  list(): ConversationSummary[] {
    const rows = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM conversations c ORDER BY c.updated_at DESC, c.rowid DESC`).all() as ConversationRow[];
    return rows.map(toSummary);
  }

  /** One conversation with its messages, or undefined. */
  get(id: string): Conversation | undefined {
    const row = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.id = ?`).get(id) as ConversationRow | undefined;
    if (!row) return undefined;
    return { ...toSummary(row), systemPrompt: row.system_prompt, settings: parseSettings(row.settings), messages: this.messages(id) };
  }

  /** A conversation's messages in order. */
  messages(conversationId: string): StoredMessage[] {
    const rows = this.db
      .prepare("SELECT id, position, role, content, reasoning, model_id, stats, created_at FROM messages WHERE conversation_id = ? ORDER BY position")
      .all(conversationId) as MessageRow[];
    return rows.map(toMessage);
  }

  create(fields: { title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings } = {}): Conversation {
    const id = randomUUID();
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO conversations (id, title, model_id, system_prompt, settings, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, fields.title ?? UNTITLED_CONVERSATION, fields.modelId ?? null, fields.systemPrompt ?? "", JSON.stringify(fields.settings ?? {}), now, now);
    this.emit("changed");
    return this.get(id)!;
  }

  /** Changes fields of a conversation; undefined when it does not exist. */
  update(id: string, patch: ConversationPatch): Conversation | undefined {
    const assignments: string[] = [];
    const values: unknown[] = [];
    if (patch.title !== undefined) {
      assignments.push("title = ?");
      values.push(patch.title);
    }
    if (patch.modelId !== undefined) {
      assignments.push("model_id = ?");
      values.push(patch.modelId);
    }
    if (patch.systemPrompt !== undefined) {
      assignments.push("system_prompt = ?");
      values.push(patch.systemPrompt);
    }
    if (patch.settings !== undefined) {
      assignments.push("settings = ?");
      values.push(JSON.stringify(patch.settings));
    }
    assignments.push("updated_at = ?");
    values.push(this.now());
    const result = this.db.prepare(`UPDATE conversations SET ${assignments.join(", ")} WHERE id = ?`).run(...values, id);
    if (result.changes === 0) return undefined;
    this.emit("changed");
    return this.get(id);
  }

  /** Deletes a conversation and its messages; false when it did not exist. */
  remove(id: string): boolean {
    const removed = this.db.prepare("DELETE FROM conversations WHERE id = ?").run(id).changes > 0;
    if (removed) this.emit("changed");
    return removed;
  }

  /** Appends a message at the end of a conversation (which must exist). */
  appendMessage(conversationId: string, message: NewMessage): StoredMessage {
    const id = message.id ?? randomUUID();
    const createdAt = message.createdAt ?? this.now();
    this.db.transaction(() => {
      const { next } = this.db.prepare("SELECT COALESCE(MAX(position), -1) + 1 AS next FROM messages WHERE conversation_id = ?").get(conversationId) as {
        next: number;
      };
      this.db
        .prepare(
          `INSERT INTO messages (id, conversation_id, position, role, content, reasoning, model_id, stats, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          conversationId,
          next,
          message.role,
          message.content,
          message.reasoning || null,
          message.modelId ?? null,
          message.stats ? JSON.stringify(message.stats) : null,
          createdAt,
        );
      this.touch(conversationId);
    })();
    this.emit("changed");
    return toMessage({
      id,
      position: 0,
      role: message.role,
      content: message.content,
      reasoning: message.reasoning || null,
      model_id: message.modelId ?? null,
      stats: message.stats ? JSON.stringify(message.stats) : null,
      created_at: createdAt,
    });
  }

  /** Changes a message's text; false when it is not in that conversation. */
  updateMessageContent(conversationId: string, messageId: string, content: string): boolean {
    const changed = this.db.transaction(() => {
      const changes = this.db.prepare("UPDATE messages SET content = ? WHERE id = ? AND conversation_id = ?").run(content, messageId, conversationId).changes;
      if (changes > 0) this.touch(conversationId);
      return changes > 0;
    })();
    if (changed) this.emit("changed");
    return changed;
  }

  /** Deletes every message after `messageId` (not that one); returns how many. */
  deleteMessagesAfter(conversationId: string, messageId: string): number {
    const deleted = this.db.transaction(() => {
      const row = this.db.prepare("SELECT position FROM messages WHERE id = ? AND conversation_id = ?").get(messageId, conversationId) as
        | { position: number }
        | undefined;
      if (!row) return 0;
      const changes = this.db.prepare("DELETE FROM messages WHERE conversation_id = ? AND position > ?").run(conversationId, row.position).changes;
      if (changes > 0) this.touch(conversationId);
      return changes;
    })();
    if (deleted > 0) this.emit("changed");
    return deleted;
  }

  /** Deletes one message; false when it is not in that conversation. */
  deleteMessage(conversationId: string, messageId: string): boolean {
    const deleted = this.db.transaction(() => {
      const changes = this.db.prepare("DELETE FROM messages WHERE id = ? AND conversation_id = ?").run(messageId, conversationId).changes;
      if (changes > 0) this.touch(conversationId);
      return changes > 0;
    })();
    if (deleted) this.emit("changed");
    return deleted;
  }

  private touch(conversationId: string): void {
    this.db.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?").run(this.now(), conversationId);
  }

  /** Removes the listeners (the database belongs to the core). */
  dispose(): void {
    this.removeAllListeners();
  }
}
