import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { GenerationResult } from "../../shared/api/generation.js";

/** Live state read at scrape time (so gauges are never stale). */
export interface MetricsStateSource {
  /** `memoryBytes`: weights plus context state (see loadedModelMemoryBytes), the dashboard's and the library's figure. */
  loadedModels(): Array<{ id: string; busy: number; waiting: number; size: number; memoryBytes?: number }>;
}

/**
 * Prometheus metrics of one core (its own registry, so several cores in one process — tests —
 * never collide). Exposed at `GET /metrics`.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<"route" | "method" | "status">;
  private readonly httpDuration: Histogram<"route" | "method">;
  private readonly promptTokens: Counter<"model">;
  private readonly generatedTokens: Counter<"model">;
  private readonly generations: Counter<"model" | "finish_reason">;
  private readonly timeToFirstToken: Histogram<"model">;
  private readonly decodeRate: Histogram<"model">;
  private readonly modelLoad: Histogram<"model">;
  private readonly draftedTokens: Counter<"model">;
  private readonly acceptedTokens: Counter<"model">;
  private readonly embeddingInputs: Counter<"model">;
  private readonly embeddingEvaluations: Counter<"model">;
  private readonly rerankDocuments: Counter<"model">;
  private readonly rerankEvaluations: Counter<"model">;

  constructor(state: MetricsStateSource) {
    const registers = [this.registry];
    const modelCounter = (name: string, help: string) => new Counter({ name, help, labelNames: ["model"], registers });
    collectDefaultMetrics({ register: this.registry, prefix: "marduk_" });
    this.httpRequests = new Counter({
      name: "marduk_http_requests_total",
      help: "HTTP requests by route, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "marduk_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["route", "method"],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    this.promptTokens = modelCounter("marduk_prompt_tokens_total", "Prompt tokens processed");
    this.generatedTokens = modelCounter("marduk_generated_tokens_total", "Tokens generated");
    // Acceptance rate: rate(accepted) / rate(drafted).
    this.draftedTokens = modelCounter("marduk_speculative_drafted_tokens_total", "Tokens speculative decoding drafted and the model checked");
    this.acceptedTokens = modelCounter("marduk_speculative_accepted_tokens_total", "Drafted tokens the model accepted");
    // Inputs per evaluation: rate(inputs) / rate(evaluations); above 1 when embeddings batch.
    this.embeddingInputs = modelCounter("marduk_embedding_inputs_total", "Texts embedded");
    this.embeddingEvaluations = modelCounter("marduk_embedding_evaluations_total", "llama.cpp evaluations that embedded those texts (local models only)");
    this.rerankDocuments = modelCounter("marduk_rerank_documents_total", "Documents scored by reranking");
    this.rerankEvaluations = modelCounter("marduk_rerank_evaluations_total", "llama.cpp evaluations that scored those documents (local models only)");
    this.generations = new Counter({
      name: "marduk_generations_total",
      help: "Finished generations by finish reason",
      labelNames: ["model", "finish_reason"],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: "marduk_time_to_first_token_seconds",
      help: "Time from request to first generated token, including queueing",
      labelNames: ["model"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.decodeRate = new Histogram({
      name: "marduk_decode_tokens_per_second",
      help: "Decode speed of each generation",
      labelNames: ["model"],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers,
    });
    this.modelLoad = new Histogram({
      name: "marduk_model_load_seconds",
      help: "Time to load a model",
      labelNames: ["model"],
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers,
    });
    new Gauge({
      name: "marduk_queue_depth",
      help: "Requests waiting for a free sequence",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of state.loadedModels()) this.set({ model: model.id }, model.waiting);
      },
    });
    new Gauge({
      name: "marduk_active_sequences",
      help: "Sequences generating now",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of state.loadedModels()) this.set({ model: model.id }, model.busy);
      },
    });
    new Gauge({
      name: "marduk_sequences",
      help: "Parallel sequences of each loaded model",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of state.loadedModels()) this.set({ model: model.id }, model.size);
      },
    });
    new Gauge({
      name: "marduk_model_memory_bytes",
      help: "Memory of each loaded model: weights plus context state (the figure the app's library and dashboard show)",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const model of state.loadedModels()) if (model.memoryBytes !== undefined) this.set({ model: model.id }, model.memoryBytes);
      },
    });
    new Gauge({
      name: "marduk_loaded_models",
      help: "Models in memory",
      registers,
      collect() {
        this.set(state.loadedModels().length);
      },
    });
  }

  recordHttpRequest(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, method, status: String(status) });
    this.httpDuration.observe({ route, method }, seconds);
  }

  recordGeneration(model: string, result: GenerationResult): void {
    this.promptTokens.inc({ model }, result.usage.promptTokens);
    this.generatedTokens.inc({ model }, result.usage.completionTokens);
    this.generations.inc({ model, finish_reason: result.finishReason });
    if (result.usage.completionTokens > 0) this.timeToFirstToken.observe({ model }, result.timings.firstTokenMs / 1000);
    if (result.timings.decodeTokensPerSecond > 0) this.decodeRate.observe({ model }, result.timings.decodeTokensPerSecond);
    if (result.speculation) {
      this.draftedTokens.inc({ model }, result.speculation.draftedTokens);
      this.acceptedTokens.inc({ model }, result.speculation.acceptedTokens);
    }
  }

  recordEmbedding(model: string, inputs: number, result: { promptTokens: number; evaluations?: number }): void {
    this.promptTokens.inc({ model }, result.promptTokens);
    this.embeddingInputs.inc({ model }, inputs);
    if (result.evaluations !== undefined) this.embeddingEvaluations.inc({ model }, result.evaluations);
  }

  recordRerank(model: string, documents: number, result: { promptTokens: number; evaluations?: number }): void {
    this.promptTokens.inc({ model }, result.promptTokens);
    this.rerankDocuments.inc({ model }, documents);
    if (result.evaluations !== undefined) this.rerankEvaluations.inc({ model }, result.evaluations);
  }

  recordModelLoad(model: string, seconds: number): void {
    this.modelLoad.observe({ model }, seconds);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  dispose(): void {
    this.registry.clear();
  }
}
