import type { FastifyInstance } from "fastify";
import type { EngineBuildInfo } from "../../../shared/contract/engine.js";
import { APP_VERSION } from "../../../shared/version.js";
import type { ApiServices } from "../apiServices.js";

/** What `/health` reports besides the models: whether llama.cpp has started, and the providers' health. */
export interface HealthSources {
  runtimeReady: () => boolean;
  providers: () => { id: string; kind: "local" | "remote"; healthy: boolean; circuit: string }[];
  /** Which llama.cpp build runs (prebuilt or local, GPU, native/OpenMP, release); reads a small file, loads nothing. */
  engine?: () => Promise<EngineBuildInfo>;
}

/** `GET /health`: liveness plus what is loaded and which providers answer. Never triggers work. */
export function registerHealthRoutes(app: FastifyInstance, { catalog }: ApiServices, sources: HealthSources): void {
  app.get("/health", async () => ({
    status: "ok",
    version: APP_VERSION,
    runtimeReady: sources.runtimeReady(),
    ...(sources.engine ? { engine: await sources.engine().catch(() => undefined) } : {}),
    models: catalog.running().map((model) => ({
      id: model.id,
      contextSize: model.contextSize,
      parallel: model.parallel,
      busySequences: model.busySequences,
      waitingRequests: model.waitingRequests,
      ...(model.loadOptions ? { loadOptions: model.loadOptions } : {}),
    })),
    providers: sources.providers().map(({ id, kind, healthy, circuit }) => ({ id, kind, healthy, circuit })),
  }));
}
