import type OpenAI from "openai";
import type * as OpenAiSdk from "openai";
import type {
  ChatGenerationOptions,
  ChatMessage,
  EmbeddingInput,
  EmbeddingResult,
  FinishReason,
  GenerationOptions,
  GenerationResult,
  ToolCall,
} from "../../shared/api/generation.js";
import { z } from "zod";
import { AbortedError, MardukError, UpstreamError } from "../errors.js";
import type { RerankResult } from "../inference/rerankTypes.js";
import { GenerationStream } from "../inference/GenerationStream.js";
import type { ModelCapabilities, Provider, ProviderCallOptions, ProviderGeneration, ProviderModel, TokenPrice } from "./Provider.js";

/** Timeouts of calls to a remote, in ms. */
export interface RemoteTimeouts {
  /** Until the remote answers with headers. Default: 10000. */
  connectMs?: number;
  /** Until the first token (or the whole answer of a non-generating call). Default: 60000. */
  firstTokenMs?: number;
  /** Whole call, streaming included. Default: 600000. */
  totalMs?: number;
}

/** Options of {@link OpenAiCompatibleProvider}. */
export interface OpenAiCompatibleProviderOptions {
  /** Unique id ("local" is taken): responses name it in `x-marduk-provider`. */
  id: string;
  /** Base URL of its OpenAI API, ending in `/v1` (e.g. `http://10.0.0.2:11435/v1`). */
  baseUrl: string;
  /** Bearer key. Default: none (a placeholder is sent, as local servers accept any). */
  apiKey?: string;
  /** The models it serves; when given, nothing is discovered. Default: discovered from `GET /models`. */
  models?: string[];
  /** Default: free (0 and 0). */
  price?: Partial<TokenPrice>;
  /** Requests it may run at once. Default: 8. */
  maxConcurrency?: number;
  timeouts?: RemoteTimeouts;
  /** What its models can do, when not discovered. Default: everything, context length unknown. */
  capabilities?: Partial<ModelCapabilities>;
  /** Replaces `fetch` (tests). Default: the global fetch. */
  fetch?: typeof fetch;
}

export const DEFAULT_REMOTE_TIMEOUTS: Required<RemoteTimeouts> = { connectMs: 10_000, firstTokenMs: 60_000, totalMs: 600_000 };
export const DEFAULT_REMOTE_CONCURRENCY = 8;

type OpenAiMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** Our messages in OpenAI's shape. */
function toOpenAiMessages(messages: readonly ChatMessage[]): OpenAiMessage[] {
  return messages.map((message): OpenAiMessage => {
    if (message.role === "tool") return { role: "tool", content: message.content, tool_call_id: message.toolCallId ?? "" };
    if (message.role === "assistant") {
      return {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls?.length
          ? { tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: "function" as const, function: { name: call.name, arguments: call.arguments } })) }
          : {}),
      };
    }
    return { role: message.role, content: message.content };
  });
}

/** Sampling options in OpenAI's names; llama.cpp's and vLLM's extensions only when set (OpenAI itself refuses them). */
function toOpenAiSampling(options: GenerationOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    max_tokens: options.maxTokens,
    temperature: options.temperature,
    top_p: options.topP,
    seed: options.seed,
    stop: options.stop?.length ? options.stop : undefined,
    presence_penalty: options.presencePenalty,
    frequency_penalty: options.frequencyPenalty,
    top_k: options.topK,
    min_p: options.minP,
    repeat_penalty: options.repeatPenalty,
    ignore_eos: options.ignoreEos || undefined,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function toOpenAiChatExtras(options: ChatGenerationOptions): Record<string, unknown> {
  const extras: Record<string, unknown> = {};
  const format = options.responseFormat;
  if (format?.type === "json_object") extras.response_format = { type: "json_object" };
  if (format?.type === "json_schema") extras.response_format = { type: "json_schema", json_schema: { name: format.name ?? "response", schema: format.schema, strict: true } };
  if (options.tools?.length) {
    extras.tools = options.tools.map((tool) => ({
      type: "function",
      function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.parameters ?? { type: "object" } },
    }));
    const choice = options.toolChoice;
    if (choice !== undefined) extras.tool_choice = typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } };
  }
  return extras;
}

/**
 * The thinking in a streamed delta: DeepSeek, llama-server and vLLM send `reasoning_content`,
 * OpenRouter and newer vLLM `reasoning`. Anything but a string is ignored (untrusted input).
 */
function reasoningOf(delta: object): string {
  const fields = delta as { reasoning_content?: unknown; reasoning?: unknown };
  const value = fields.reasoning_content ?? fields.reasoning;
  return typeof value === "string" ? value : "";
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  if (reason === "length") return "length";
  if (reason === "tool_calls" || reason === "function_call") return "tool_calls";
  return "stop";
}

/** Retry-After in seconds from an upstream's headers, if it sent a usable one. */
function retryAfterOf(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, Math.min(3600, Math.ceil((date - Date.now()) / 1000))) : undefined;
}

/** Texts, or token-id arrays (OpenAI takes either kind, not a mix; the API adapters send one kind). */
/** What a remote's `/rerank` answers (llama-server's and Cohere's shape); extra fields are ignored. */
const remoteRerankSchema = z.object({
  model: z.string().optional(),
  results: z.array(z.object({ index: z.number().int().min(0), relevance_score: z.number().finite() })),
  usage: z.object({ prompt_tokens: z.number().optional(), total_tokens: z.number().optional() }).partial().optional(),
});

function toOpenAiEmbeddingInput(inputs: readonly EmbeddingInput[]): string[] | number[][] {
  return inputs.every((input) => typeof input === "string") ? [...inputs] : inputs.map((input) => (typeof input === "string" ? [] : [...input]));
}

/**
 * A remote OpenAI-compatible server (OpenAI, vLLM, llama-server, Ollama's `/v1`, another
 * `marduk-local serve`), called through the official `openai` package. Every call streams from
 * the remote, so the router can fail over until the first token and the timeouts can tell a
 * stalled remote from a slow answer.
 */
export class OpenAiCompatibleProvider implements Provider {
  readonly id: string;
  readonly kind = "remote";
  readonly price: TokenPrice;
  readonly maxConcurrency: number;
  readonly baseUrl: string;
  private sdk: Promise<typeof OpenAiSdk> | undefined;
  private clientInstance: OpenAI | undefined;
  private readonly timeouts: Required<RemoteTimeouts>;
  private readonly capabilities: ModelCapabilities;

  constructor(private readonly options: OpenAiCompatibleProviderOptions) {
    this.id = options.id;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.price = { inputPerMillion: options.price?.inputPerMillion ?? 0, outputPerMillion: options.price?.outputPerMillion ?? 0 };
    this.maxConcurrency = options.maxConcurrency ?? DEFAULT_REMOTE_CONCURRENCY;
    this.timeouts = { ...DEFAULT_REMOTE_TIMEOUTS, ...options.timeouts };
    this.capabilities = { chat: true, embeddings: true, tools: true, jsonSchema: true, ...options.capabilities };
  }

  /** The SDK is imported on first use (~50 ms), so a server without remotes starts without it. */
  private async client(): Promise<OpenAI> {
    this.sdk ??= import("openai");
    const { default: OpenAIClient } = await this.sdk;
    this.clientInstance ??= new OpenAIClient({
      baseURL: this.baseUrl,
      // Local servers accept any key; the SDK insists on one.
      apiKey: this.options.apiKey || "none",
      // The router retries and falls back itself, with its breakers and cool-downs.
      maxRetries: 0,
      timeout: this.timeouts.totalMs,
      ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
    });
    return this.clientInstance;
  }

  async listModels(): Promise<ProviderModel[]> {
    if (this.options.models) return this.options.models.map((id) => ({ id, capabilities: { ...this.capabilities } }));
    return (await this.discoverModels()).map(({ id, contextLength }) => ({
      id,
      // Configured capabilities win over what the remote says of itself.
      capabilities: { ...this.capabilities, ...(this.options.capabilities?.contextLength === undefined && contextLength ? { contextLength } : {}) },
    }));
  }

  async checkHealth(signal?: AbortSignal): Promise<void> {
    await this.discoverModels(signal);
  }

  async chat(modelId: string, messages: readonly ChatMessage[], options: ChatGenerationOptions & ProviderCallOptions): Promise<ProviderGeneration> {
    const body = {
      model: modelId,
      messages: toOpenAiMessages(messages),
      ...toOpenAiSampling(options),
      ...toOpenAiChatExtras(options),
      stream: true as const,
      stream_options: { include_usage: true },
    } as OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;
    return this.generate(modelId, options.signal, async (signal) => (await this.client()).chat.completions.create(body, { signal }), (chunk, sink) => {
      const choice = chunk.choices[0];
      if (choice?.delta) sink.reasoning(reasoningOf(choice.delta));
      if (choice?.delta?.content) sink.text(choice.delta.content);
      for (const call of choice?.delta?.tool_calls ?? []) sink.toolCall(call.index, call.id, call.function?.name, call.function?.arguments);
      if (choice?.finish_reason) sink.finish(choice.finish_reason, matchedStopOf(choice, options.stop));
      if (chunk.usage) sink.usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens, chunk.usage.completion_tokens_details?.reasoning_tokens);
    });
  }

  async complete(modelId: string, prompt: string, options: GenerationOptions & ProviderCallOptions): Promise<ProviderGeneration> {
    const body = { model: modelId, prompt, ...toOpenAiSampling(options), stream: true as const, stream_options: { include_usage: true } } as OpenAI.Completions.CompletionCreateParamsStreaming;
    return this.generate(modelId, options.signal, async (signal) => (await this.client()).completions.create(body, { signal }), (chunk, sink) => {
      const choice = chunk.choices[0];
      if (choice?.text) sink.text(choice.text);
      if (choice?.finish_reason) sink.finish(choice.finish_reason);
      if (chunk.usage) sink.usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens);
    });
  }

  async embed(modelId: string, inputs: readonly EmbeddingInput[], options: ProviderCallOptions): Promise<EmbeddingResult & { modelId: string }> {
    return this.withDeadline(options.signal, this.timeouts.firstTokenMs, async (signal) => {
      const response = await (await this.client()).embeddings.create({ model: modelId, input: toOpenAiEmbeddingInput(inputs), encoding_format: "float" }, { signal });
      const embeddings = [...response.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
      if (embeddings.length !== inputs.length) throw new UpstreamError(this.id, `${this.id} returned ${embeddings.length} embeddings for ${inputs.length} inputs`);
      return { embeddings, promptTokens: response.usage?.prompt_tokens ?? 0, modelId: response.model || modelId };
    });
  }

  /**
   * Reranks at the remote's `/rerank` (llama-server, vLLM, Jina and Cohere-style servers). Its
   * answer is untrusted: every document must get one finite score, else an UpstreamError.
   */
  async rerank(modelId: string, query: string, documents: readonly string[], options: ProviderCallOptions): Promise<RerankResult & { modelId: string }> {
    return this.withDeadline(options.signal, this.timeouts.firstTokenMs, async (signal) => {
      const answer = await (await this.client()).post<unknown>("/rerank", { body: { model: modelId, query, documents, return_documents: false }, signal });
      const parsed = remoteRerankSchema.safeParse(answer);
      if (!parsed.success) throw new UpstreamError(this.id, `${this.id} answered /rerank with an unexpected body`);
      const scores = new Array<number>(documents.length).fill(Number.NaN);
      for (const result of parsed.data.results) if (result.index < documents.length) scores[result.index] = result.relevance_score;
      if (scores.some(Number.isNaN)) throw new UpstreamError(this.id, `${this.id} returned scores for ${parsed.data.results.length} of ${documents.length} documents`);
      const promptTokens = parsed.data.usage?.prompt_tokens ?? parsed.data.usage?.total_tokens ?? 0;
      return { scores, promptTokens, modelId: parsed.data.model || modelId };
    });
  }

  dispose(): void {
    // The SDK keeps no connections of its own beyond fetch's pool.
  }

  /** The remote's models, with the context length when it tells (vLLM's `max_model_len`, llama-server's `meta.n_ctx_train`). */
  private async discoverModels(signal?: AbortSignal): Promise<{ id: string; contextLength?: number }[]> {
    return this.withDeadline(signal, this.timeouts.connectMs, async (deadline) => {
      const models: { id: string; contextLength?: number }[] = [];
      for await (const model of (await this.client()).models.list({ signal: deadline })) {
        if (typeof model.id !== "string" || !model.id || model.id.length > 512) continue;
        const contextLength = contextLengthOf(model as unknown as Record<string, unknown>);
        models.push({ id: model.id, ...(contextLength ? { contextLength } : {}) });
        if (models.length >= 10_000) break;
      }
      return models;
    });
  }

  /** Runs `call` with the caller's signal and a deadline; errors become UpstreamError. */
  private async withDeadline<T>(outer: AbortSignal | undefined, ms: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    outer?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ms);
    try {
      return await call(controller.signal);
    } catch (error) {
      throw this.toError(error, outer, timedOut ? `${this.id} did not answer within ${ms} ms` : undefined);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Starts a streamed call and returns once the remote has answered with headers; the deltas
   * then flow into the returned stream. Timeouts: connect until the headers, first token
   * until the first delta, total for the whole call.
   */
  private async generate<Chunk>(
    modelId: string,
    outer: AbortSignal | undefined,
    start: (signal: AbortSignal) => Promise<AsyncIterable<Chunk> & { controller?: AbortController }>,
    read: (chunk: Chunk, sink: ChunkSink) => void,
  ): Promise<ProviderGeneration> {
    const startedAt = performance.now();
    const controller = new AbortController();
    let timeoutMessage: string | undefined;
    const timers: NodeJS.Timeout[] = [];
    const deadline = (ms: number, what: string) => {
      const timer = setTimeout(() => {
        timeoutMessage = `${this.id} ${what} within ${ms} ms`;
        controller.abort();
      }, ms);
      timers.push(timer);
      return timer;
    };
    const onAbort = () => controller.abort();
    if (outer?.aborted) throw new AbortedError();
    outer?.addEventListener("abort", onAbort, { once: true });
    const cleanup = () => {
      for (const timer of timers) clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    };
    deadline(this.timeouts.totalMs, "did not finish");
    const connectTimer = deadline(this.timeouts.connectMs, "did not answer");
    const firstTokenTimer = deadline(this.timeouts.firstTokenMs, "sent no token");
    let iterable: AsyncIterable<Chunk>;
    try {
      iterable = await start(controller.signal);
    } catch (error) {
      cleanup();
      throw this.toError(error, outer, timeoutMessage);
    }
    clearTimeout(connectTimer);
    const stream = new GenerationStream();
    stream.markStarted();
    const sink = new ChunkSink(stream, () => clearTimeout(firstTokenTimer));
    void (async () => {
      try {
        for await (const chunk of iterable) read(chunk, sink);
        // The SDK ends an aborted stream quietly: a deadline or the client's abort must not pass for an answer.
        if (outer?.aborted) throw new AbortedError();
        if (controller.signal.aborted) throw new UpstreamError(this.id, timeoutMessage ?? `${this.id} stopped answering`);
        stream.end(sink.result(startedAt));
      } catch (error) {
        // A client that went away ends its generation as a local one does: "abort", with what came.
        if (outer?.aborted) stream.end({ ...sink.result(startedAt), finishReason: "abort" });
        else stream.fail(this.toError(error, outer, timeoutMessage));
      } finally {
        cleanup();
      }
    })();
    return { modelId, stream };
  }

  private toError(error: unknown, outer: AbortSignal | undefined, timeoutMessage: string | undefined): MardukError {
    if (outer?.aborted) return new AbortedError();
    if (timeoutMessage) return new UpstreamError(this.id, timeoutMessage, undefined, undefined, error);
    if (error instanceof MardukError) return error;
    if (isNamed(error, "APIUserAbortError")) return new AbortedError();
    if (isApiError(error) && error.status !== undefined) {
      // The remote's own words are kept (they help), but never more than a line of them.
      const detail = String((error.error as { message?: unknown } | undefined)?.message ?? error.message).slice(0, 300);
      return new UpstreamError(this.id, `${this.id} answered ${error.status}: ${detail}`, error.status, retryAfterOf(error.headers as Headers | undefined), error);
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new UpstreamError(this.id, `${this.id} could not be reached (${reason.slice(0, 200)})`, undefined, undefined, error);
  }
}

/** A context length a remote's model object states, if it is a sane number. */
function contextLengthOf(model: Record<string, unknown>): number | undefined {
  const meta = model.meta as Record<string, unknown> | undefined;
  const value = model.max_model_len ?? model.context_length ?? model.context_window ?? meta?.n_ctx_train;
  return typeof value === "number" && Number.isInteger(value) && value > 0 && value <= 100_000_000 ? value : undefined;
}

/** Errors of the SDK by name (its module is loaded lazily, so no instanceof before it is). */
function isNamed(error: unknown, name: string): boolean {
  return error instanceof Error && error.constructor.name === name;
}

/** An SDK error that carries the remote's HTTP answer. */
function isApiError(error: unknown): error is { status?: number; headers?: Headers; error?: unknown; message: string } {
  return error instanceof Error && "status" in error && "headers" in error;
}

/**
 * The stop string a remote says ended its reply: vLLM sends it as `stop_reason` on the finishing
 * choice (OpenAI sends none). Taken only when it is one of the strings the request asked for.
 */
function matchedStopOf(choice: object, requested: readonly string[] | undefined): string | undefined {
  const reported = (choice as { stop_reason?: unknown }).stop_reason;
  return typeof reported === "string" && requested?.includes(reported) ? reported : undefined;
}

/** Gathers a remote's streamed chunks into deltas and the final result. */
class ChunkSink {
  private text_ = "";
  private reasoning_ = "";
  private reasoningTokens?: number;
  private chunks = 0;
  private finishReason: FinishReason = "stop";
  private stopSequence?: string;
  private promptTokens?: number;
  private completionTokens?: number;
  private firstTokenAt?: number;
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();

  constructor(
    private readonly stream: GenerationStream,
    private readonly onFirstToken: () => void,
  ) {}

  text(text: string): void {
    this.first();
    this.text_ += text;
    this.chunks++;
    // A chunk is about one token; the final usage has the exact count.
    this.stream.push({ text, tokenCount: 1 });
  }

  reasoning(text: string): void {
    if (!text) return;
    this.first();
    this.reasoning_ += text;
    this.chunks++;
    this.stream.push({ text: "", reasoning: text, tokenCount: 1 });
  }

  toolCall(index: number, id: string | undefined, name: string | undefined, args: string | undefined): void {
    this.first();
    const call = this.calls.get(index) ?? { id: "", name: "", arguments: "" };
    if (id) call.id = id;
    if (name) call.name += name;
    if (args) call.arguments += args;
    this.calls.set(index, call);
  }

  finish(reason: string, stopSequence?: string): void {
    this.finishReason = toFinishReason(reason);
    this.stopSequence = stopSequence;
  }

  usage(promptTokens: number, completionTokens: number, reasoningTokens?: number | null): void {
    this.promptTokens = promptTokens;
    this.completionTokens = completionTokens;
    if (typeof reasoningTokens === "number" && reasoningTokens >= 0) this.reasoningTokens = reasoningTokens;
  }

  result(startedAt: number): GenerationResult {
    const now = performance.now();
    const completionTokens = this.completionTokens ?? this.chunks;
    const decodeMs = this.firstTokenAt !== undefined ? now - this.firstTokenAt : 0;
    const toolCalls: ToolCall[] = [...this.calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, call]) => ({ id: call.id || `call_${index}`, name: call.name, arguments: call.arguments || "{}" }));
    return {
      text: this.text_,
      ...(this.reasoning_ ? { reasoning: this.reasoning_ } : {}),
      finishReason: toolCalls.length > 0 && this.finishReason === "stop" ? "tool_calls" : this.finishReason,
      ...(toolCalls.length > 0 ? { toolCalls } : {}),
      ...(this.stopSequence !== undefined && this.finishReason === "stop" && toolCalls.length === 0 ? { stopSequence: this.stopSequence } : {}),
      usage: { promptTokens: this.promptTokens ?? 0, completionTokens, ...(this.reasoningTokens !== undefined ? { reasoningTokens: this.reasoningTokens } : {}) },
      timings: {
        promptMs: this.firstTokenAt !== undefined ? this.firstTokenAt - startedAt : now - startedAt,
        firstTokenMs: this.firstTokenAt !== undefined ? this.firstTokenAt - startedAt : now - startedAt,
        decodeTokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
      },
    };
  }

  private first(): void {
    if (this.firstTokenAt !== undefined) return;
    this.firstTokenAt = performance.now();
    this.onFirstToken();
  }
}
