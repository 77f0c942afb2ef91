import type { FastifyInstance } from "fastify";
import type { Core } from "../../createCore.js";
import { APP_VERSION } from "../../../shared/version.js";

/** `GET /health`: liveness plus what is loaded. Never triggers work. */
export function registerHealthRoutes(app: FastifyInstance, core: Core): void {
  app.get("/health", async () => ({
    status: "ok",
    version: APP_VERSION,
    runtimeReady: core.runtimeReady,
    models: core.engine.listLoaded().map((model) => ({
      id: model.id,
      contextSize: model.contextSize,
      parallel: model.parallel,
      busySequences: model.sequences.busy,
      waitingRequests: model.sequences.waiting,
    })),
  }));
}
