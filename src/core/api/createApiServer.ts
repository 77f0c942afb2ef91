import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Core } from "../createCore.js";
import { toHttpError } from "./apiErrors.js";
import { registerModelsRoutes } from "./openai/modelsRoutes.js";
import { registerHealthRoutes } from "./routes/healthRoutes.js";

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  core: Core;
  /** Largest request body accepted. Default: 10 MB. */
  bodyLimitBytes?: number;
}

export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** Builds the HTTP server (not yet listening). */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { core } = options;
  const app: FastifyInstance = Fastify({
    loggerInstance: core.logger.child({ component: "http" }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // Shutdown must not wait for idle keep-alive sockets or open streams.
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.setErrorHandler((error, request, reply) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) request.log.error({ err: error }, "request failed");
    void reply.code(httpError.status).headers(httpError.headers ?? {}).send(httpError.body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      error: { message: `Unknown route ${request.method} ${request.url.split("?")[0]}`, type: "invalid_request_error", param: null, code: "not_found" },
    });
  });
  registerHealthRoutes(app, core);
  registerModelsRoutes(app, core);
  return app;
}
