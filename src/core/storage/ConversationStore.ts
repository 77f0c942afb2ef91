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
  /** The message it follows (null: the first one). Default: the shown branch's last message. */
  parentId?: string | null;
  /** Default: fine. */
  status?: "failed";
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
  current_leaf_id: string | null;
  message_count: number;
}

interface MessageRow {
  id: string;
  parent_id: string | null;
  position: number;
  role: StoredMessage["role"];
  content: string;
  reasoning: string | null;
  model_id: string | null;
  stats: string | null;
  status: string | null;
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

function toMessage(row: MessageRow, versionIds?: string[]): StoredMessage {
  return {
    id: row.id,
    role: row.role,
    content: row.content,
    ...(row.reasoning !== null && row.reasoning !== "" ? { reasoning: row.reasoning } : {}),
    createdAt: row.created_at,
    ...(row.model_id !== null ? { modelId: row.model_id } : {}),
    ...(row.stats !== null ? { stats: JSON.parse(row.stats) as MessageStats } : {}),
    ...(row.status === "failed" ? { status: "failed" as const } : {}),
    ...(versionIds && versionIds.length > 1 ? { versionIds } : {}),
  };
}

/** A conversation's message tree: children by parent (oldest first), and the rows by id. */
class MessageTree {
  readonly byId = new Map<string, MessageRow>();
  readonly children = new Map<string | null, MessageRow[]>();

  constructor(rows: MessageRow[]) {
    for (const row of rows) {
      this.byId.set(row.id, row);
      const siblings = this.children.get(row.parent_id) ?? [];
      siblings.push(row);
      this.children.set(row.parent_id, siblings);
    }
  }

  /** The branch from the root to `leafId`. */
  branch(leafId: string | null): MessageRow[] {
    const rows: MessageRow[] = [];
    for (let row = leafId === null ? undefined : this.byId.get(leafId); row; row = row.parent_id === null ? undefined : this.byId.get(row.parent_id)) {
      rows.unshift(row);
    }
    return rows;
  }

  /** The newest leaf under `id` (following the newest child each time); `id` itself when it has none. */
  newestLeaf(id: string | null): string | null {
    let current = id;
    for (;;) {
      const next = this.children.get(current)?.at(-1);
      if (!next) return current;
      current = next.id;
    }
  }

  /** `id` and everything under it. */
  subtree(id: string): string[] {
    const ids = [id];
    for (let index = 0; index < ids.length; index++) for (const child of this.children.get(ids[index]!) ?? []) ids.push(child.id);
    return ids;
  }

  versionIds(row: MessageRow): string[] {
    return (this.children.get(row.parent_id) ?? []).map((sibling) => sibling.id);
  }
}

function parseSettings(text: string): ChatSettings {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as ChatSettings) : {};
  } catch {
    return {};
  }
}

// The shown branch's length: its leaf's depth + 1 (position is the depth in the tree).
const SUMMARY_COLUMNS = `c.id, c.title, c.model_id, c.system_prompt, c.settings, c.created_at, c.updated_at, c.current_leaf_id,
  COALESCE((SELECT m.position + 1 FROM messages m WHERE m.id = c.current_leaf_id), 0) AS message_count`;

/**
 * Conversations and their messages in SQLite (the `conversations` and `messages` tables).
 * Messages form a tree (each has a parent; siblings are versions of one message, made by
 * regenerate and edit); a conversation shows the branch that ends at its current leaf, and
 * new messages are appended under it. Every change emits `changed`.
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

  /** One conversation with the messages of its shown branch, or undefined. */
  get(id: string): Conversation | undefined {
    const row = this.db.prepare(`SELECT ${SUMMARY_COLUMNS} FROM conversations c WHERE c.id = ?`).get(id) as ConversationRow | undefined;
    if (!row) return undefined;
    return { ...toSummary(row), systemPrompt: row.system_prompt, settings: parseSettings(row.settings), messages: this.messages(id) };
  }

  /** The messages of a conversation's shown branch, in order, each with its versions. */
  messages(conversationId: string): StoredMessage[] {
    const tree = this.tree(conversationId);
    return tree.branch(this.leafOf(conversationId)).map((row) => toMessage(row, tree.versionIds(row)));
  }

  /** The messages from the first one down to `messageId` (empty when it is not in that conversation). */
  branchTo(conversationId: string, messageId: string): StoredMessage[] {
    const tree = this.tree(conversationId);
    return tree.branch(messageId).map((row) => toMessage(row, tree.versionIds(row)));
  }

  private tree(conversationId: string): MessageTree {
    const rows = this.db
      .prepare(
        `SELECT id, parent_id, position, role, content, reasoning, model_id, stats, status, created_at
         FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid`,
      )
      .all(conversationId) as MessageRow[];
    return new MessageTree(rows);
  }

  private leafOf(conversationId: string): string | null {
    const row = this.db.prepare("SELECT current_leaf_id FROM conversations WHERE id = ?").get(conversationId) as { current_leaf_id: string | null } | undefined;
    return row?.current_leaf_id ?? null;
  }

  private setLeaf(conversationId: string, leafId: string | null): void {
    this.db.prepare("UPDATE conversations SET current_leaf_id = ?, updated_at = ? WHERE id = ?").run(leafId, this.now(), conversationId);
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

  /**
   * Appends a message under `message.parentId` (default: the shown branch's last message) and
   * shows it: a sibling of an existing message is a new version of it. The conversation must exist.
   */
  appendMessage(conversationId: string, message: NewMessage): StoredMessage {
    const id = message.id ?? randomUUID();
    const createdAt = message.createdAt ?? this.now();
    const stored = this.db.transaction(() => {
      const parentId = message.parentId !== undefined ? message.parentId : this.leafOf(conversationId);
      const parent = parentId === null ? undefined : (this.db.prepare("SELECT position FROM messages WHERE id = ? AND conversation_id = ?").get(parentId, conversationId) as { position: number } | undefined);
      if (parentId !== null && !parent) throw new RangeError(`No message '${parentId}' in conversation '${conversationId}'`);
      const row: MessageRow = {
        id,
        parent_id: parentId,
        position: parent ? parent.position + 1 : 0,
        role: message.role,
        content: message.content,
        reasoning: message.reasoning || null,
        model_id: message.modelId ?? null,
        stats: message.stats ? JSON.stringify(message.stats) : null,
        status: message.status ?? null,
        created_at: createdAt,
      };
      this.db
        .prepare(
          `INSERT INTO messages (id, conversation_id, parent_id, position, role, content, reasoning, model_id, stats, status, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.id, conversationId, row.parent_id, row.position, row.role, row.content, row.reasoning, row.model_id, row.stats, row.status, row.created_at);
      this.setLeaf(conversationId, id);
      return toMessage(row, this.tree(conversationId).versionIds(row));
    })();
    this.emit("changed");
    return stored;
  }

  /** Marks a message failed (its reply failed) or fine again; false when it is not in that conversation. */
  setMessageStatus(conversationId: string, messageId: string, status: "failed" | null): boolean {
    const changed = this.db.prepare("UPDATE messages SET status = ? WHERE id = ? AND conversation_id = ?").run(status, messageId, conversationId).changes > 0;
    if (changed) this.emit("changed");
    return changed;
  }

  /** Shows the branch through `messageId` (down to its newest leaf); false when it is not in that conversation. */
  selectVersion(conversationId: string, messageId: string): boolean {
    const tree = this.tree(conversationId);
    if (!tree.byId.has(messageId)) return false;
    this.setLeaf(conversationId, tree.newestLeaf(messageId));
    this.emit("changed");
    return true;
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

  /** Deletes every message under `messageId` (not that one) and shows it as the last; returns how many. */
  deleteMessagesAfter(conversationId: string, messageId: string): number {
    const deleted = this.db.transaction(() => {
      const tree = this.tree(conversationId);
      if (!tree.byId.has(messageId)) return 0;
      const ids = tree.subtree(messageId).slice(1);
      this.deleteIds(ids);
      this.setLeaf(conversationId, messageId);
      return ids.length;
    })();
    if (deleted > 0) this.emit("changed");
    return deleted;
  }

  /**
   * Deletes one message with everything under it; when it was shown, the branch of its newest
   * remaining sibling (or its parent) is shown. False when it is not in that conversation.
   */
  deleteMessage(conversationId: string, messageId: string): boolean {
    const deleted = this.db.transaction(() => {
      const tree = this.tree(conversationId);
      const row = tree.byId.get(messageId);
      if (!row) return false;
      const ids = tree.subtree(messageId);
      this.deleteIds(ids);
      const leaf = this.leafOf(conversationId);
      if (leaf !== null && ids.includes(leaf)) this.setLeaf(conversationId, this.tree(conversationId).newestLeaf(row.parent_id));
      else this.touch(conversationId);
      return true;
    })();
    if (deleted) this.emit("changed");
    return deleted;
  }

  private deleteIds(ids: readonly string[]): void {
    const statement = this.db.prepare("DELETE FROM messages WHERE id = ?");
    for (const id of ids) statement.run(id);
  }

  private touch(conversationId: string): void {
    this.db.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?").run(this.now(), conversationId);
  }

  /** Removes the listeners (the database belongs to the core). */
  dispose(): void {
    this.removeAllListeners();
  }
}
