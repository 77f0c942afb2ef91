import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import path from "node:path";
import type { ChatGenerationOptions, ChatMessage, GenerationResult } from "../../shared/api/generation.js";
import type { ChatApi, ChatStreamEvent, StartedChatGeneration } from "../../shared/contract/chat.js";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { ChatSettings, Conversation, MessageStats, StoredMessage } from "../../shared/contract/conversations.js";
import { estimateChatTokenCount } from "../inference/estimateTokens.js";
import type { ModelCatalog } from "../inference/ModelCatalog.js";
import { AbortedError, InvalidArgumentError, ModelNotFoundError, toMardukError } from "../errors.js";
import type { InferenceService } from "../inference/InferenceService.js";
import type { Logger } from "../logger.js";
import { UNTITLED_CONVERSATION, type ConversationStore } from "../storage/ConversationStore.js";
import {
  contextUsageRequest,
  editAndResendRequest,
  parseRequest,
  regenerateRequest,
  retryRequest,
  sendRequest,
  stopRequest,
} from "./requestSchemas.js";
import type { SettingsService } from "./SettingsService.js";
import { fitToContext } from "./fitToContext.js";

/** What the chat group needs of the core. */
export interface ChatServiceDeps {
  inference: InferenceService;
  catalog: ModelCatalog;
  store: ConversationStore;
  settings: SettingsService;
  logger: Logger;
}

interface RunningGeneration {
  readonly id: string;
  readonly conversationId: string;
  readonly assistantMessageId: string;
  /** The user message being answered: the history ends with it, the reply goes under it. */
  readonly replyTo: string;
  /** Marked failed when no reply could be stored (so the UI offers Retry). */
  readonly markFailedOnError: boolean;
  readonly controller: AbortController;
  /** Settles once the reply is stored (or the failure reported). */
  done: Promise<void>;
}

/** The title a conversation gets from its first message: its first line, at most 60 characters. */
export function titleFromMessage(content: string): string {
  const line = content.trim().split(/\r?\n/)[0]!.trim();
  if (line.length <= 60) return line || UNTITLED_CONVERSATION;
  const cut = line.slice(0, 60);
  const space = cut.lastIndexOf(" ");
  return `${(space > 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** A conversation's settings as generation options. */
export function toGenerationOptions(settings: ChatSettings): ChatGenerationOptions {
  const { temperature, topP, topK, minP, repeatPenalty, maxTokens, seed, stop, ignoreEos, responseFormat } = settings;
  const options: ChatGenerationOptions = { temperature, topP, topK, minP, repeatPenalty, maxTokens, seed, stop, ignoreEos, responseFormat };
  for (const key of Object.keys(options) as (keyof ChatGenerationOptions)[]) if (options[key] === undefined) delete options[key];
  return options;
}

/**
 * A reply's stats. `timeToFirstTokenMs` is measured here, from the send (the core receiving the
 * request) to the first streamed token, so it includes everything the user waits through (the
 * queue, a model load, the model host): the definition the chat's live figure uses too. The
 * engine's own `timings.firstTokenMs` starts later (at the engine's call) and is only the fallback.
 */
function toStats(result: GenerationResult, timeToFirstTokenMs = result.timings.firstTokenMs): MessageStats {
  return {
    promptTokens: result.usage.promptTokens,
    completionTokens: result.usage.completionTokens,
    ...(result.usage.reasoningTokens ? { reasoningTokens: result.usage.reasoningTokens } : {}),
    timeToFirstTokenMs,
    decodeTokensPerSecond: result.timings.decodeTokensPerSecond,
    finishReason: result.finishReason,
  };
}

/** `promise`, or an AbortedError as soon as `signal` aborts (the promise's outcome is then ignored). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The messages a conversation sends to the model: its system prompt, then its turns. Replies go
 * back as their answers only: thinking models' templates (Qwen3, DeepSeek-R1) drop earlier
 * turns' thinking, and it would only fill the context.
 */
function toChatMessages(conversation: Conversation, history: readonly StoredMessage[] = conversation.messages): ChatMessage[] {
  const messages: ChatMessage[] = conversation.systemPrompt.trim() !== "" ? [{ role: "system", content: conversation.systemPrompt }] : [];
  for (const message of history) messages.push({ role: message.role, content: message.content });
  return messages;
}

/**
 * The chat group: generates replies in stored conversations. `send`, `regenerate` and
 * `editAndResend` store what the user did, start the generation and answer at once with its
 * ids; the reply streams as `delta` events and ends with `done` (the stored assistant message,
 * with its stats) or `error`. One generation runs per conversation at a time. A stopped
 * generation keeps what it produced (finish reason "abort").
 */
export class ChatService implements ChatApi {
  private readonly running = new Map<string, RunningGeneration>();
  private readonly byConversation = new Map<string, RunningGeneration>();
  private readonly events = new EventEmitter<{ event: [ChatStreamEvent] }>();
  private disposed = false;

  constructor(private readonly deps: ChatServiceDeps) {
    // Every RPC client subscribes; a desktop app with many windows must not warn.
    this.events.setMaxListeners(0);
  }

  async send(request: { conversationId: string; content: string }): Promise<StartedChatGeneration> {
    const { conversationId, content } = parseRequest(sendRequest, request);
    const conversation = this.prepare(conversationId);
    const modelId = this.modelOf(conversation);
    const { store } = this.deps;
    if (conversation.messages.length === 0 && conversation.title === UNTITLED_CONVERSATION) {
      store.update(conversationId, { title: titleFromMessage(content) });
    }
    // After a failed send, the unanswered message is replaced rather than left as an orphan.
    const last = conversation.messages.at(-1);
    const parentId = last?.role === "user" ? (conversation.messages.at(-2)?.id ?? null) : (last?.id ?? null);
    const userMessage = store.appendMessage(conversationId, { role: "user", content, parentId });
    return { ...this.start(conversationId, modelId, userMessage.id, true), userMessage };
  }

  /** Adds a version of the last reply (under the same user message); a failed last message is retried. */
  async regenerate(request: { conversationId: string }): Promise<StartedChatGeneration> {
    const { conversationId } = parseRequest(regenerateRequest, request);
    const conversation = this.prepare(conversationId);
    const modelId = this.modelOf(conversation);
    const last = conversation.messages.at(-1);
    if (last?.role === "user") return this.retryLast(conversation, modelId);
    const answered = conversation.messages.at(-2);
    if (!last || answered?.role !== "user") throw new InvalidArgumentError("The conversation has no message to answer", "conversationId");
    return this.start(conversationId, modelId, answered.id, false);
  }

  async retry(request: { conversationId: string }): Promise<StartedChatGeneration> {
    const { conversationId } = parseRequest(retryRequest, request);
    const conversation = this.prepare(conversationId);
    return this.retryLast(conversation, this.modelOf(conversation));
  }

  /** A new version of a user message (a branch beside the old one), answered at once. */
  async editAndResend(request: { conversationId: string; messageId: string; content: string }): Promise<StartedChatGeneration> {
    const { conversationId, messageId, content } = parseRequest(editAndResendRequest, request);
    const conversation = this.prepare(conversationId);
    const modelId = this.modelOf(conversation);
    const index = conversation.messages.findIndex((candidate) => candidate.id === messageId);
    const message = conversation.messages[index];
    if (!message) throw new InvalidArgumentError(`No message '${messageId}' in this conversation`, "messageId");
    if (message.role !== "user") throw new InvalidArgumentError("Only the user's messages can be edited", "messageId");
    const parentId = index > 0 ? conversation.messages[index - 1]!.id : null;
    const userMessage = this.deps.store.appendMessage(conversationId, { role: "user", content, parentId });
    return { ...this.start(conversationId, modelId, userMessage.id, true), userMessage };
  }

  private retryLast(conversation: Conversation, modelId: string): StartedChatGeneration {
    const last = conversation.messages.at(-1);
    if (last?.role !== "user") throw new InvalidArgumentError("The last message is not one waiting for a reply", "conversationId");
    this.deps.store.setMessageStatus(conversation.id, last.id, null);
    return this.start(conversation.id, modelId, last.id, true);
  }

  /** Stops a generation and resolves once what it produced is stored (the `done` event went out). */
  async stop(request: { generationId: string }): Promise<void> {
    const { generationId } = parseRequest(stopRequest, request);
    const generation = this.running.get(generationId);
    if (!generation) return;
    generation.controller.abort();
    await generation.done;
  }

  /** Stops the generation running in a conversation, if any. */
  async stopConversation(conversationId: string): Promise<void> {
    const generation = this.byConversation.get(conversationId);
    if (!generation) return;
    generation.controller.abort();
    await generation.done;
  }

  /**
   * Tokens the conversation's prompt takes with its model's chat template, counted exactly when
   * the model is loaded (with its context size); otherwise estimated from the last reply's
   * counts, or from the text's length (about 4 characters a token), with a null context size.
   */
  async contextUsage(request: { conversationId: string }): Promise<{ usedTokens: number; contextSize: number | null }> {
    const { conversationId } = parseRequest(contextUsageRequest, request);
    const conversation = this.requireConversation(conversationId);
    const messages = toChatMessages(conversation);
    const modelId = conversation.modelId ?? this.deps.settings.current().defaultModelId;
    let loaded: { contextSize: number } | undefined;
    if (modelId !== undefined) {
      try {
        const exact = await this.deps.catalog.localContextUsage(modelId, messages);
        // Past the context, the overflow policy decides what is sent: the bar never shows more than it holds.
        if (exact) return { usedTokens: Math.min(exact.usedTokens, exact.contextSize), contextSize: exact.contextSize };
      } catch (error) {
        loaded = { contextSize: this.deps.catalog.loadedContextSize(modelId) ?? 0 };
        this.deps.logger.debug({ err: error }, "exact context usage failed; estimating");
      }
    }
    const last = conversation.messages.at(-1);
    if (last?.role === "assistant" && last.stats) return { usedTokens: last.stats.promptTokens + last.stats.completionTokens, contextSize: loaded?.contextSize ?? null };
    return { usedTokens: estimateChatTokenCount(messages), contextSize: loaded?.contextSize ?? null };
  }

  onEvent = (listener: (event: ChatStreamEvent) => void): Unsubscribe => {
    this.events.on("event", listener);
    return () => this.events.off("event", listener);
  };

  /** Stops every generation and waits until each has stored what it produced. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const generations = [...this.running.values()];
    for (const generation of generations) generation.controller.abort();
    await Promise.allSettled(generations.map((generation) => generation.done));
    this.events.removeAllListeners();
  }

  private requireConversation(conversationId: string): Conversation {
    const conversation = this.deps.store.get(conversationId);
    if (!conversation) throw new InvalidArgumentError(`No conversation '${conversationId}'`, "conversationId");
    return conversation;
  }

  /** The conversation, once sure nothing else generates in it. */
  private prepare(conversationId: string): Conversation {
    if (this.disposed) throw new AbortedError("The app is shutting down");
    const conversation = this.requireConversation(conversationId);
    if (this.byConversation.has(conversationId)) {
      throw new InvalidArgumentError("A reply is being generated in this conversation; stop it first", "conversationId");
    }
    return conversation;
  }

  /** The model of a conversation (else the default one), checked to exist. */
  private modelOf(conversation: Conversation): string {
    const modelId = conversation.modelId ?? this.deps.settings.current().defaultModelId;
    if (modelId === undefined) throw new InvalidArgumentError("Choose a model for this conversation first", "modelId");
    // Conversations name models of the library, never files elsewhere on the machine.
    if (path.isAbsolute(modelId) || modelId.startsWith(".") || modelId.includes("\\")) {
      throw new InvalidArgumentError(`'${modelId}' is not a model id of the library`, "modelId");
    }
    // Fails fast with model_not_found before anything is stored; remote models and aliases route too.
    const resolved = this.deps.catalog.resolve(modelId);
    if (resolved === undefined) throw new ModelNotFoundError(modelId);
    return resolved;
  }

  private start(conversationId: string, modelId: string, replyTo: string, markFailedOnError: boolean): StartedChatGeneration {
    const generation: RunningGeneration = {
      id: randomUUID(),
      conversationId,
      assistantMessageId: randomUUID(),
      replyTo,
      markFailedOnError,
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.running.set(generation.id, generation);
    this.byConversation.set(conversationId, generation);
    generation.done = this.run(generation, modelId)
      .catch((error: unknown) => this.deps.logger.error({ err: error, conversationId }, "storing a chat reply failed"))
      .finally(() => {
        this.running.delete(generation.id);
        if (this.byConversation.get(conversationId) === generation) this.byConversation.delete(conversationId);
      });
    return { generationId: generation.id, conversationId, assistantMessageId: generation.assistantMessageId };
  }

  private async run(generation: RunningGeneration, modelId: string): Promise<void> {
    const { id: generationId, conversationId, controller } = generation;
    // run() starts synchronously inside send/regenerate: this is when the user's request arrived.
    const sentAt = performance.now();
    let firstTokenAt: number | undefined;
    const { inference } = this.deps;
    let text = "";
    let reasoning = "";
    try {
      const conversation = this.requireConversation(conversationId);
      const { settings, messages, maxTokens } = await untilAborted(this.promptFor(conversation, generation.replyTo, modelId), controller.signal);
      // Loading a big model takes a while: stopping must not wait for it (the load goes on, and
      // the generation it would start sees the aborted signal and ends at once).
      const started = await untilAborted(
        inference.chat(modelId, messages, {
          ...toGenerationOptions(settings),
          ...(maxTokens !== undefined ? { maxTokens } : {}),
          signal: controller.signal,
          // A conversation stays on one target of a weighted route (its prompt cache stays warm).
          routing: { stickyKey: `conversation:${conversation.id}` },
        }),
        controller.signal,
      );
      for await (const delta of started.stream) {
        if (firstTokenAt === undefined && delta.tokenCount > 0) firstTokenAt = performance.now();
        text += delta.text;
        reasoning += delta.reasoning ?? "";
        if (delta.text !== "" || (delta.reasoning ?? "") !== "" || delta.tokenCount > 0) {
          this.emit({
            type: "delta",
            generationId,
            conversationId,
            text: delta.text,
            ...(delta.reasoning ? { reasoning: delta.reasoning } : {}),
            tokenCount: delta.tokenCount,
          });
        }
      }
      const result = await started.stream.result;
      this.storeReply(generation, { content: result.text, reasoning: result.reasoning, modelId: started.modelId, stats: toStats(result, firstTokenAt === undefined ? undefined : firstTokenAt - sentAt) });
    } catch (error) {
      if (controller.signal.aborted && (text !== "" || reasoning !== "")) {
        // Stopped before the engine could report: keep what was streamed.
        this.storeReply(generation, { content: text, reasoning, modelId });
        return;
      }
      const failure = controller.signal.aborted ? new AbortedError("The generation was stopped") : toMardukError(error);
      if (failure.code === "internal_error") this.deps.logger.error({ err: error, conversationId }, "chat generation failed");
      if (generation.markFailedOnError) this.deps.store.setMessageStatus(conversationId, generation.replyTo, "failed");
      this.emit({ type: "error", generationId, conversationId, error: failure.toPayload() });
    }
  }

  /**
   * The resolved settings and the messages to send for a reply to `replyTo`: the history of its
   * branch, fitted to a local model's context by the overflow policy (counted exactly by the
   * door); a remote model's context is not known here, so its history goes as it is.
   */
  private async promptFor(
    conversation: Conversation,
    replyTo: string,
    modelId: string,
  ): Promise<{ settings: ChatSettings; messages: ChatMessage[]; maxTokens?: number }> {
    const { inference, catalog, settings: settingsService, store } = this.deps;
    const settings = settingsService.resolve(conversation.modelId ?? modelId, conversation.settings).settings;
    const history = toChatMessages(conversation, store.branchTo(conversation.id, replyTo));
    await inference.prepare(modelId);
    const contextSize = catalog.loadedContextSize(modelId);
    if (contextSize === undefined) return { settings, messages: history };
    const promptOptions = settings.responseFormat ? { responseFormat: settings.responseFormat } : {};
    const fitted = await fitToContext(history, {
      policy: settings.contextOverflow ?? "truncateMiddle",
      contextSize,
      maxTokens: settings.maxTokens,
      count: async (messages) => (await inference.countChatTokens(modelId, messages, promptOptions)).tokens,
    });
    if (fitted.dropped > 0) this.deps.logger.debug({ conversationId: conversation.id, dropped: fitted.dropped }, "history fitted to the context");
    return { settings, messages: fitted.messages, maxTokens: fitted.maxTokens };
  }

  private storeReply(generation: RunningGeneration, reply: { content: string; reasoning?: string; modelId: string; stats?: MessageStats }): void {
    const { id: generationId, conversationId, assistantMessageId } = generation;
    if (!this.deps.store.get(conversationId)) {
      this.emit({
        type: "error",
        generationId,
        conversationId,
        error: { code: "invalid_argument", message: "The conversation was deleted during the generation", param: "conversationId" },
      });
      return;
    }
    const message = this.deps.store.appendMessage(conversationId, {
      id: assistantMessageId,
      parentId: generation.replyTo,
      role: "assistant",
      content: reply.content,
      ...(reply.reasoning ? { reasoning: reply.reasoning } : {}),
      modelId: reply.modelId,
      stats: reply.stats ?? {
        promptTokens: 0,
        completionTokens: 0,
        timeToFirstTokenMs: 0,
        decodeTokensPerSecond: 0,
        finishReason: "abort",
      },
    });
    this.emit({ type: "done", generationId, conversationId, message });
  }

  private emit(event: ChatStreamEvent): void {
    for (const listener of this.events.listeners("event") as Array<(event: ChatStreamEvent) => void>) {
      try {
        listener(event);
      } catch (error) {
        this.deps.logger.warn({ err: error }, "chat event listener failed");
      }
    }
  }
}
