import type { FastifyInstance } from "fastify";
import { APP_VERSION } from "../../../shared/version.js";
import type { ApiServices } from "../apiServices.js";

/** What `/health` reports besides the models: whether llama.cpp has started, and the providers' health. */
export interface HealthSources {
  runtimeReady: () => boolean;
  providers: () => { id: string; kind: "local" | "remote"; healthy: boolean; circuit: string }[];
}

/** `GET /health`: liveness plus what is loaded and which providers answer. Never triggers work. */
export function registerHealthRoutes(app: FastifyInstance, { catalog }: ApiServices, sources: HealthSources): void {
  app.get("/health", async () => ({
    status: "ok",
    version: APP_VERSION,
    runtimeReady: sources.runtimeReady(),
    models: catalog.running().map((model) => ({
      id: model.id,
      contextSize: model.contextSize,
      parallel: model.parallel,
      busySequences: model.busySequences,
      waitingRequests: model.waitingRequests,
    })),
    providers: sources.providers().map(({ id, kind, healthy, circuit }) => ({ id, kind, healthy, circuit })),
  }));
}
