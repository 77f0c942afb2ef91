import type { Llama } from "node-llama-cpp";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { MetricsApi, MetricsSample } from "../../shared/contract/metrics.js";
import type { ModelResidency } from "../engine/ModelResidency.js";
import type { InferenceService } from "../inference/InferenceService.js";
import type { Logger } from "../logger.js";
import { createGpuProbe, type GpuProbeOptions } from "../telemetry/gpuProbe.js";
import { loadedModelMemoryBytes } from "../telemetry/modelMemory.js";
import { SystemSampler, type EngineLoad, type SystemSamplerOptions } from "../telemetry/SystemSampler.js";

/** What the metrics group needs of the core. */
export interface MetricsServiceDeps {
  residency: ModelResidency;
  inference: InferenceService;
  /** The llama.cpp runtime when it exists (VRAM); the dashboard never creates it. */
  llama: () => Llama | undefined;
  logger: Logger;
}

/** Options of {@link MetricsService}: the sampler's timing and, for tests, its sources. */
export interface MetricsServiceOptions extends Omit<SystemSamplerOptions, "sources" | "logger"> {
  sources?: Partial<SystemSamplerOptions["sources"]>;
  gpu?: Omit<GpuProbeOptions, "llama">;
}

/** The engine's requests and the memory of each loaded model (weights plus context state, see loadedModelMemoryBytes). */
export function engineLoad(residency: ModelResidency): EngineLoad {
  let activeRequests = 0;
  let queuedRequests = 0;
  const models: EngineLoad["models"] = [];
  for (const model of residency.loadedModels()) {
    activeRequests += model.sequences.busy;
    queuedRequests += model.sequences.waiting;
    models.push({ id: model.id, memoryBytes: loadedModelMemoryBytes(model.stats) });
  }
  return { activeRequests, queuedRequests, models };
}

/**
 * The metrics group: samples of the machine and the engine at 1 Hz (see SystemSampler), with
 * token rates fed by every generation of the inference service, whatever protocol started it.
 */
export class MetricsService implements MetricsApi {
  readonly sampler: SystemSampler;
  private readonly stopObserving: () => void;

  constructor(deps: MetricsServiceDeps, options: MetricsServiceOptions = {}) {
    const { sources, gpu, ...timing } = options;
    this.sampler = new SystemSampler({
      ...timing,
      logger: deps.logger,
      sources: {
        engine: () => engineLoad(deps.residency),
        gpu: createGpuProbe({ ...gpu, llama: deps.llama }),
        ...sources,
      },
    });
    this.stopObserving = deps.inference.observe({
      onTokens: (_modelId, tokenCount) => this.sampler.recordTokens(tokenCount),
      onFinished: (_modelId, result) => this.sampler.recordGeneration(result),
    });
  }

  async history(): Promise<MetricsSample[]> {
    return this.sampler.history();
  }

  onSample = (listener: (sample: MetricsSample) => void): Unsubscribe => this.sampler.onSample(listener);

  dispose(): void {
    this.stopObserving();
    this.sampler.dispose();
  }
}
