import type { Unsubscribe } from "../../shared/contract/common.js";
import type { ChatSettings, Conversation, ConversationsApi, ConversationSummary, StoredMessage } from "../../shared/contract/conversations.js";
import { APP_NAME, APP_VERSION } from "../../shared/version.js";
import { InvalidArgumentError } from "../errors.js";
import type { ConversationStore } from "../storage/ConversationStore.js";
import {
  conversationIdRequest,
  createConversationRequest,
  exportConversationRequest,
  messageRequest,
  parseRequest,
  updateConversationRequest,
} from "./requestSchemas.js";
import type { SettingsService } from "./SettingsService.js";

/** A file name from a title: lower-case words joined by dashes, at most 60 characters. */
export function fileNameFor(title: string, extension: string): string {
  const base = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  return `${base || "conversation"}.${extension}`;
}

function formatStats(message: StoredMessage): string | undefined {
  const stats = message.stats;
  if (!stats) return undefined;
  return [
    `${stats.completionTokens} tokens`,
    `${stats.decodeTokensPerSecond.toFixed(1)} tokens/s`,
    `first token ${Math.round(stats.timeToFirstTokenMs)} ms`,
    `finish: ${stats.finishReason}`,
  ].join(" · ");
}

/**
 * A reply's thinking as a collapsed `<details>` block (GitHub and most viewers render it; others
 * show it as plain text). A `</details>` inside the thinking must not close the block early.
 */
function thinkingBlock(message: StoredMessage): string[] {
  if (!message.reasoning) return [];
  const tokens = message.stats?.reasoningTokens;
  const summary = tokens ? `Thinking (${tokens} tokens)` : "Thinking";
  return ["<details>", `<summary>${summary}</summary>`, "", message.reasoning.replace(/<\/details/gi, "&lt;/details"), "", "</details>", ""];
}

/** A readable Markdown transcript of a conversation; a reply's thinking is a collapsed block above it. */
export function conversationToMarkdown(conversation: Conversation, exportedAt: Date): string {
  const lines: string[] = [`# ${conversation.title}`, ""];
  if (conversation.modelId) lines.push(`- Model: \`${conversation.modelId}\``);
  lines.push(`- Created: ${new Date(conversation.createdAt).toISOString()}`, `- Exported: ${exportedAt.toISOString()} by ${APP_NAME} ${APP_VERSION}`, "");
  if (conversation.systemPrompt.trim() !== "") lines.push("## System", "", conversation.systemPrompt, "");
  for (const message of conversation.messages) {
    lines.push(message.role === "user" ? "## User" : "## Assistant", "", ...thinkingBlock(message), message.content, "");
    const stats = formatStats(message);
    if (stats) lines.push(`*${message.modelId ? `${message.modelId} · ` : ""}${stats}*`, "");
  }
  return lines.join("\n");
}

/** The conversations group over the SQLite store. */
export class ConversationsService implements ConversationsApi {
  constructor(
    private readonly store: ConversationStore,
    private readonly settings: SettingsService,
    /** Stops a conversation's running generation before it is removed. */
    private readonly stopGeneration: (conversationId: string) => Promise<void>,
  ) {}

  /** The conversation, or an InvalidArgumentError naming the parameter. */
  require(id: string, param = "id"): Conversation {
    const conversation = this.store.get(id);
    if (!conversation) throw new InvalidArgumentError(`No conversation '${id}'`, param);
    return conversation;
  }

  async list(): Promise<ConversationSummary[]> {
    return this.store.list();
  }

  async get(request: { id: string }): Promise<Conversation> {
    return this.require(parseRequest(conversationIdRequest, request).id);
  }

  /** Without a model or system prompt, the defaults apply (the model's system prompt, else the app's). */
  async create(request: { title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings } = {}): Promise<Conversation> {
    const fields = parseRequest(createConversationRequest, request ?? {});
    const defaults = this.settings.current();
    const title = fields.title?.trim();
    const modelId = fields.modelId ?? defaults.defaultModelId;
    return this.store.create({
      ...(title ? { title } : {}),
      modelId,
      systemPrompt: fields.systemPrompt ?? this.settings.resolve(modelId).defaultSystemPrompt,
      settings: fields.settings ?? {},
    });
  }

  /** An empty `modelId` removes the conversation's model. */
  async update(request: { id: string; title?: string; modelId?: string; systemPrompt?: string; settings?: ChatSettings }): Promise<Conversation> {
    const { id, title, modelId, systemPrompt, settings } = parseRequest(updateConversationRequest, request);
    if (title !== undefined && title.trim() === "") throw new InvalidArgumentError("The title must not be empty", "title");
    const updated = this.store.update(id, {
      ...(title !== undefined ? { title: title.trim() } : {}),
      ...(modelId !== undefined ? { modelId: modelId === "" ? null : modelId } : {}),
      ...(systemPrompt !== undefined ? { systemPrompt } : {}),
      ...(settings !== undefined ? { settings } : {}),
    });
    if (!updated) throw new InvalidArgumentError(`No conversation '${id}'`, "id");
    return updated;
  }

  /** Stops its generation, if any, then deletes it with its messages. */
  async remove(request: { id: string }): Promise<void> {
    const { id } = parseRequest(conversationIdRequest, request);
    this.require(id);
    await this.stopGeneration(id);
    this.store.remove(id);
  }

  async selectVersion(request: { conversationId: string; messageId: string }): Promise<Conversation> {
    const { conversationId, messageId } = parseRequest(messageRequest, request);
    this.require(conversationId, "conversationId");
    if (!this.store.selectVersion(conversationId, messageId)) throw new InvalidArgumentError(`No message '${messageId}' in this conversation`, "messageId");
    return this.require(conversationId, "conversationId");
  }

  /** Stops the conversation's generation, if any (it may be answering that message), then deletes. */
  async deleteMessage(request: { conversationId: string; messageId: string }): Promise<Conversation> {
    const { conversationId, messageId } = parseRequest(messageRequest, request);
    this.require(conversationId, "conversationId");
    await this.stopGeneration(conversationId);
    if (!this.store.deleteMessage(conversationId, messageId)) throw new InvalidArgumentError(`No message '${messageId}' in this conversation`, "messageId");
    return this.require(conversationId, "conversationId");
  }

  async export(request: { id: string; format: "json" | "markdown" }): Promise<{ fileName: string; mimeType: string; content: string }> {
    const { id, format } = parseRequest(exportConversationRequest, request);
    const conversation = this.require(id);
    const exportedAt = new Date();
    if (format === "markdown") {
      return { fileName: fileNameFor(conversation.title, "md"), mimeType: "text/markdown", content: conversationToMarkdown(conversation, exportedAt) };
    }
    const document = { format: "marduk-local.conversation", version: 1, exportedAt: exportedAt.toISOString(), conversation };
    return { fileName: fileNameFor(conversation.title, "json"), mimeType: "application/json", content: `${JSON.stringify(document, null, 2)}\n` };
  }

  onChanged = (listener: (conversations: ConversationSummary[]) => void): Unsubscribe => {
    const onChange = (): void => listener(this.store.list());
    this.store.on("changed", onChange);
    return () => this.store.off("changed", onChange);
  };
}
