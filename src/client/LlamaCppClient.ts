import OpenAI, { toFile } from "openai";
import { ModelNotFoundError, MardukClientError, ServerUnavailableError, toClientError } from "./errors.js";
import { abortableSleep, withRetries, type RetryOptions } from "./retryPolicy.js";
import { PROVIDER_HEADER, routingHeadersOf } from "./routingHeaders.js";
import { runWithTools, type AgentTool, type RunWithToolsOptions, type RunWithToolsResult } from "./runWithTools.js";
import { toOpenAiChatBody } from "./toOpenAiRequest.js";
import type { AICallOptions, AIClient, AIRequest, AIResponse, AIStreamEvent, AIToolCall, AIUsage, InitializeOptions } from "./types.js";

/** Options of {@link LlamaCppClient}. */
export interface LlamaCppClientOptions {
  /** The server's origin, e.g. `http://127.0.0.1:11435` (a trailing `/v1` is accepted). Default: http://127.0.0.1:11435. */
  baseUrl?: string;
  /** API key sent as a Bearer token. Default: none ("unused" is sent, the server ignores it without keys). */
  apiKey?: string;
  /** Default model of requests that name none. Default: none (set by `initialize({model})`). */
  model?: string;
  /** Per-attempt timeout of each call, in milliseconds. Default: 600000 (generations can be long). */
  timeoutMs?: number;
  /** The retry policy of every call. Default: see {@link RetryOptions}. */
  retry?: RetryOptions;
  /** Headers sent with every request. Default: none. */
  headers?: Record<string, string>;
  /** A fetch to use instead of the global one (tests, proxies). Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Allow use from a browser page (the key is visible to the page). Default: true. */
  dangerouslyAllowBrowser?: boolean;
}

/** A reranked document: its index in the input and its relevance (higher is better). */
export interface RerankResult {
  index: number;
  relevanceScore: number;
}

/** One line of an OpenAI batch input file. */
export interface BatchRequestLine {
  custom_id: string;
  method: "POST";
  url: "/v1/chat/completions" | "/v1/embeddings" | "/v1/completions" | (string & {});
  body: Record<string, unknown>;
}

/** One line of a batch's output (or error) file. */
export interface BatchResultLine {
  id?: string;
  custom_id: string;
  response: { status_code: number; request_id?: string; body: unknown } | null;
  error: { code?: string; message: string } | null;
}

const TERMINAL_BATCH_STATES = new Set(["completed", "failed", "expired", "cancelled"]);
const DEFAULT_BASE_URL = "http://127.0.0.1:11435";

/**
 * A typed client of a Marduk Local server (or any OpenAI-compatible llama.cpp server for the
 * OpenAI routes), built on the official `openai` package. Plain ESM with no Node-only imports:
 * it runs in Node and browsers.
 */
export class LlamaCppClient implements AIClient {
  readonly openai: OpenAI;
  /** The model requests use when they name none. */
  model: string | undefined;
  private readonly origin: string;
  private readonly retry: RetryOptions;
  private readonly timeoutMs: number;
  /** Aborts whatever is in flight at `cleanup()`. */
  private readonly lifetime = new AbortController();

  constructor(options: LlamaCppClientOptions = {}) {
    this.origin = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "").replace(/\/v1$/, "");
    this.model = options.model;
    this.retry = options.retry ?? {};
    this.timeoutMs = options.timeoutMs ?? 600_000;
    this.openai = new OpenAI({
      baseURL: `${this.origin}/v1`,
      apiKey: options.apiKey ?? "unused",
      // Retries are ours (retryPolicy.ts), the same for every call.
      maxRetries: 0,
      timeout: this.timeoutMs,
      dangerouslyAllowBrowser: options.dangerouslyAllowBrowser ?? true,
      ...(options.headers ? { defaultHeaders: options.headers } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** Checks the server (`/health`), lists its models and, when asked, pulls and loads one. */
  async initialize(options: InitializeOptions = {}): Promise<void> {
    const health = await this.health(options).catch((error: unknown) => {
      const cause = toClientError(error);
      if (cause.name === "AbortError") throw cause;
      throw new ServerUnavailableError(`The server at ${this.origin} does not answer /health: ${cause.message}`, { code: cause.code, status: cause.status, cause });
    });
    if (health.status !== "ok") throw new ServerUnavailableError(`The server reports status ${String(health.status)}`, { code: "unavailable" });
    options.onProgress?.({ status: "server ready" });
    if (!options.model) return;
    const installed = (await this.listModels(options)).some((model) => model.id === options.model);
    if (!installed) {
      if (!options.pull) throw new ModelNotFoundError(`Model ${options.model} is not installed (pass pull: true to download it)`, { code: "model_not_found", param: "model" });
      await this.pull(options.model, options);
    }
    options.onProgress?.({ status: "loading model" });
    await this.loadModel(options.model, options);
    this.model = options.model;
    options.onProgress?.({ status: "model ready" });
  }

  /** `GET /health`. */
  health(options: AICallOptions = {}): Promise<{ status: string; version?: string; models?: { id: string }[]; [key: string]: unknown }> {
    return this.call(options, (requestOptions) => this.openai.get(`${this.origin}/health`, requestOptions));
  }

  /** `GET /v1/models`: installed models and aliases. */
  async listModels(options: AICallOptions = {}): Promise<OpenAI.Model[]> {
    const page = await this.call(options, (requestOptions) => this.openai.models.list(requestOptions));
    return page.data;
  }

  /** Loads a model (Ollama's idiom: `/api/chat` with no messages), so the first request does not pay for it. */
  async loadModel(model: string, options: AICallOptions = {}): Promise<void> {
    await this.call(options, (requestOptions) => this.openai.post(`${this.origin}/api/chat`, { ...requestOptions, body: { model, messages: [], stream: false } }));
  }

  /** Downloads a model through the server (`POST /api/pull`, streamed NDJSON progress). */
  async pull(model: string, options: InitializeOptions = {}): Promise<void> {
    const response = await this.call(options, (requestOptions) =>
      this.openai.post(`${this.origin}/api/pull`, { ...requestOptions, body: { model, stream: true } }).asResponse(),
    );
    if (!response.body) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const handleLine = (line: string) => {
      if (!line.trim()) return;
      const event = JSON.parse(line) as { status?: string; error?: string; total?: number; completed?: number };
      if (event.error) throw new MardukClientError(`Pull of ${model} failed: ${event.error}`, { code: "download_failed" });
      options.onProgress?.({ status: event.status ?? "pulling", ...(event.completed !== undefined ? { completedBytes: event.completed } : {}), ...(event.total !== undefined ? { totalBytes: event.total } : {}) });
    };
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += decoder.decode(value, { stream: true });
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        lines.forEach(handleLine);
      }
      handleLine(buffered);
    } catch (error) {
      throw toClientError(error);
    } finally {
      reader.releaseLock();
    }
  }

  /** One chat completion. */
  async generateResponse(request: AIRequest): Promise<AIResponse> {
    const model = this.modelOf(request);
    const { data, response } = await this.call(request, (requestOptions) =>
      this.openai.chat.completions.create(toOpenAiChatBody(request, model), { ...requestOptions, headers: routingHeadersOf(request.routing) }).withResponse(),
    );
    const choice = data.choices[0];
    const message = choice?.message as (OpenAI.ChatCompletionMessage & { reasoning_content?: string }) | undefined;
    const toolCalls: AIToolCall[] = (message?.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : []));
    return {
      text: message?.content ?? "",
      ...(message?.reasoning_content ? { reasoning: message.reasoning_content } : {}),
      toolCalls,
      finishReason: choice?.finish_reason ?? "stop",
      ...(data.usage ? { usage: toUsage(data.usage) } : {}),
      model: data.model,
      ...responseMetadata(response.headers),
    };
  }

  /**
   * A streamed chat completion: text (and reasoning, tool call) deltas, then `done` with the
   * whole response. Retried only until the response starts; aborting the signal ends the stream
   * with a `RequestAbortedError`.
   */
  async *streamResponse(request: AIRequest): AsyncIterable<AIStreamEvent> {
    const model = this.modelOf(request);
    const body = { ...toOpenAiChatBody(request, model), stream: true as const, stream_options: { include_usage: true } };
    const { data: stream, response } = await this.call(request, (requestOptions) =>
      this.openai.chat.completions.create(body, { ...requestOptions, headers: routingHeadersOf(request.routing) }).withResponse(),
    );
    let text = "";
    let reasoning = "";
    let finishReason = "stop";
    let usage: AIUsage | undefined;
    let answeredModel = model;
    const calls: AIToolCall[] = [];
    try {
      for await (const chunk of stream) {
        // Chunks already received keep coming after an abort: stop at the next one.
        if (request.signal?.aborted || this.lifetime.signal.aborted) throw new OpenAI.APIUserAbortError();
        answeredModel = chunk.model || answeredModel;
        if (chunk.usage) usage = toUsage(chunk.usage);
        for (const choice of chunk.choices) {
          const delta = choice.delta as OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
          if (delta.reasoning_content) {
            reasoning += delta.reasoning_content;
            yield { type: "reasoning", delta: delta.reasoning_content };
          }
          if (delta.content) {
            text += delta.content;
            yield { type: "text", delta: delta.content };
          }
          for (const call of delta.tool_calls ?? []) {
            const known = (calls[call.index] ??= { id: "", name: "", arguments: "" });
            if (call.id) known.id = call.id;
            if (call.function?.name) known.name += call.function.name;
            known.arguments += call.function?.arguments ?? "";
            yield { type: "tool_call", index: call.index, ...(call.id ? { id: call.id } : {}), ...(call.function?.name ? { name: call.function.name } : {}), argumentsDelta: call.function?.arguments ?? "" };
          }
          if (choice.finish_reason) finishReason = choice.finish_reason;
        }
      }
    } catch (error) {
      throw toClientError(error);
    }
    // The openai package ends a stream quietly when its signal aborts; the caller must learn it was cut.
    if (request.signal?.aborted || this.lifetime.signal.aborted) throw toClientError(new OpenAI.APIUserAbortError());
    yield {
      type: "done",
      response: {
        text,
        ...(reasoning ? { reasoning } : {}),
        toolCalls: calls.filter(Boolean),
        finishReason,
        ...(usage ? { usage } : {}),
        model: answeredModel,
        ...responseMetadata(response.headers),
      },
    };
  }

  /**
   * Embeddings of many texts, `batchSize` per request (a server limits a request's inputs and
   * tokens); the vectors come back in the order of `texts`.
   */
  async embed(texts: readonly string[], options: AICallOptions & { model?: string; batchSize?: number } = {}): Promise<number[][]> {
    const batchSize = Math.max(1, Math.floor(options.batchSize ?? 64));
    const model = this.modelOf(options);
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      const input = texts.slice(start, start + batchSize);
      const result = await this.call(options, (requestOptions) => this.openai.embeddings.create({ model, input, encoding_format: "float" }, requestOptions));
      const ordered = [...result.data].sort((a, b) => a.index - b.index);
      if (ordered.length !== input.length) throw new MardukClientError(`The server returned ${ordered.length} embeddings for ${input.length} inputs`, { code: "upstream_error" });
      vectors.push(...ordered.map((item) => item.embedding));
    }
    return vectors;
  }

  /** Orders `documents` by relevance to `query` (`POST /v1/rerank`, llama-server's/Jina's/Cohere's shape). */
  async rerank(query: string, documents: readonly string[], options: AICallOptions & { model?: string; topN?: number } = {}): Promise<RerankResult[]> {
    const model = this.modelOf(options);
    const body = { model, query, documents, ...(options.topN !== undefined ? { top_n: options.topN } : {}) };
    const result = await this.call(options, (requestOptions) => this.openai.post<{ results: { index: number; relevance_score: number }[] }>("/rerank", { ...requestOptions, body }));
    return result.results.map((item) => ({ index: item.index, relevanceScore: item.relevance_score })).sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index);
  }

  /** Uploads the lines as a batch input file (`/v1/files`, purpose "batch") and starts a batch (`/v1/batches`). */
  async submitBatch(
    lines: readonly BatchRequestLine[],
    options: AICallOptions & { endpoint?: OpenAI.BatchCreateParams["endpoint"]; metadata?: Record<string, string> } = {},
  ): Promise<OpenAI.Batch> {
    if (lines.length === 0) throw new MardukClientError("A batch needs at least one request", { code: "invalid_argument", param: "lines" });
    const endpoint = options.endpoint ?? (lines[0]!.url as OpenAI.BatchCreateParams["endpoint"]);
    const jsonl = lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
    const file = await this.call(options, async (requestOptions) =>
      this.openai.files.create({ file: await toFile(new Blob([jsonl], { type: "application/jsonl" }), "batch.jsonl"), purpose: "batch" }, requestOptions),
    );
    return this.call(options, (requestOptions) =>
      this.openai.batches.create({ input_file_id: file.id, endpoint, completion_window: "24h", ...(options.metadata ? { metadata: options.metadata } : {}) }, requestOptions),
    );
  }

  /**
   * Polls a batch until it completes, fails, expires or is cancelled, and returns its output lines
   * (and error lines). A batch has no push channel in OpenAI's API, so this polls.
   */
  async waitForBatch(
    id: string,
    options: AICallOptions & { pollIntervalMs?: number; onProgress?: (batch: OpenAI.Batch) => void } = {},
  ): Promise<{ batch: OpenAI.Batch; results: BatchResultLine[]; errors: BatchResultLine[] }> {
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    for (;;) {
      const batch = await this.call(options, (requestOptions) => this.openai.batches.retrieve(id, requestOptions));
      options.onProgress?.(batch);
      if (TERMINAL_BATCH_STATES.has(batch.status)) {
        const [results, errors] = await Promise.all([this.batchLines(batch.output_file_id, options), this.batchLines(batch.error_file_id, options)]);
        return { batch, results, errors };
      }
      await abortableSleep(pollIntervalMs, this.signalOf(options));
    }
  }

  /** The agent loop over this client: see {@link runWithTools}. */
  runWithTools(request: AIRequest, tools: readonly AgentTool<never>[], options: RunWithToolsOptions = {}): Promise<RunWithToolsResult> {
    return runWithTools(this, request, tools, options);
  }

  /** Aborts whatever is in flight. The client holds no other resources. */
  async cleanup(): Promise<void> {
    this.lifetime.abort();
  }

  /** Same as {@link cleanup}. */
  dispose(): Promise<void> {
    return this.cleanup();
  }

  private async batchLines(fileId: string | null | undefined, options: AICallOptions): Promise<BatchResultLine[]> {
    if (!fileId) return [];
    const text = await this.call(options, async (requestOptions) => (await this.openai.files.content(fileId, requestOptions)).text());
    return text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line) as BatchResultLine);
  }

  private modelOf(request: { model?: string }): string {
    const model = request.model ?? this.model;
    if (!model) throw new MardukClientError("No model: name one in the request, the constructor or initialize({model})", { code: "invalid_argument", param: "model" });
    return model;
  }

  private signalOf(options: AICallOptions): AbortSignal {
    return options.signal ? AbortSignal.any([options.signal, this.lifetime.signal]) : this.lifetime.signal;
  }

  /** Every call goes through here: the caller's signal joined with the client's lifetime, the timeout, the retry policy, typed errors. */
  private call<T>(options: AICallOptions, attempt: (requestOptions: { signal: AbortSignal; timeout: number }) => Promise<T>): Promise<T> {
    const signal = this.signalOf(options);
    const timeout = options.timeoutMs ?? this.timeoutMs;
    return withRetries(() => attempt({ signal, timeout }), this.retry, signal);
  }
}

function toUsage(usage: OpenAI.CompletionUsage): AIUsage {
  return {
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    ...(usage.completion_tokens_details?.reasoning_tokens !== undefined ? { reasoningTokens: usage.completion_tokens_details.reasoning_tokens } : {}),
    ...(usage.prompt_tokens_details?.cached_tokens !== undefined ? { cachedPromptTokens: usage.prompt_tokens_details.cached_tokens } : {}),
  };
}

function responseMetadata(headers: Headers): { provider?: string; requestId?: string } {
  const provider = headers.get(PROVIDER_HEADER);
  const requestId = headers.get("x-request-id");
  return { ...(provider ? { provider } : {}), ...(requestId ? { requestId } : {}) };
}
