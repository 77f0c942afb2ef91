import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Core } from "../createCore.js";
import { openAiError, toHttpError } from "./apiErrors.js";
import { registerAnthropicRoutes } from "./anthropic/registerAnthropicRoutes.js";
import { errorBodyForUrl } from "./errorDialect.js";
import { registerOllamaRoutes } from "./ollama/registerOllamaRoutes.js";
import { registerResponsesRoutes } from "./responses/responsesRoutes.js";
import { registerBatchesRoutes } from "./batches/batchesRoutes.js";
import { registerFilesRoutes } from "./batches/filesRoutes.js";
import { registerChatCompletionsRoute } from "./openai/chatCompletionsRoute.js";
import { registerCompletionsRoute } from "./openai/completionsRoute.js";
import { registerEmbeddingsRoute } from "./openai/embeddingsRoute.js";
import { registerRerankRoute } from "./openai/rerankRoute.js";
import { registerMemoryRoutes } from "./memory/memoryRoutes.js";
import { registerModelsRoutes } from "./openai/modelsRoutes.js";
import { lazySchemaCompilers } from "./lazySchemaCompilers.js";
import { registerObservability } from "./registerObservability.js";
import { registerHealthRoutes } from "./routes/healthRoutes.js";
import { redactedRequestLog, registerSecurity, type SecurityOptions } from "./security/registerSecurity.js";
import { headlessServerController } from "../contract/ServerController.js";
import { registerRpcWebSocket } from "./registerRpcWebSocket.js";
import { registerUi, type UiOptions } from "./registerUi.js";

/** Options of {@link createApiServer}. */
export interface ApiServerOptions extends SecurityOptions {
  core: Core;
  /** Largest request body accepted. Default: 10 MB. */
  bodyLimitBytes?: number;
  /** Serve the app's contract over a WebSocket at `/rpc` (the browser UI's transport). Default: true. */
  rpc?: boolean;
  /** Serve the built UI at `/`; false: do not. Default: true, from `out/renderer`. */
  ui?: boolean | UiOptions;
  /**
   * Report this server to the contract's server group (status, URL) as the headless server
   * once it listens. The desktop app passes false and reports its own. Default: true.
   */
  announce?: boolean;
}

export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** Builds the HTTP server (not yet listening): OpenAI and Ollama dialects over the core's services. */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { core } = options;
  const app: FastifyInstance = Fastify({
    // Request logs never show an API key given as `?key=` (browsers' WebSocket upgrades).
    loggerInstance: core.logger.child({ component: "http" }, { serializers: { req: redactedRequestLog } }) as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    // No route declares a Fastify schema (zod validates bodies): load Ajv only if one does.
    schemaController: { compilersFactory: lazySchemaCompilers() },
    requestIdHeader: false,
    // Shutdown must not wait for idle keep-alive sockets or open streams.
    forceCloseConnections: true,
    return503OnClosing: true,
    // Slow clients (slowloris): the whole request, headers and body, must arrive within
    // requestTimeoutMs (default 30 s), the headers within 10 s of it; else 408 and the socket is
    // closed. Only the request is timed: streamed answers run as long as they need, and idle
    // keep-alive sockets follow keepAliveTimeout. Node checks these deadlines every
    // connectionsCheckingInterval (its default, 30 s, would let a client take twice as long).
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    http: {
      headersTimeout: Math.min(options.requestTimeoutMs ?? 30_000, 10_000),
      connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor((options.requestTimeoutMs ?? 30_000) / 4))),
    },
  });
  // Bodies are JSON whatever the declared type (`curl -d` sends form encoding, as Ollama's docs
  // show). That is safe because browsers' cross-site requests carry an Origin, which the
  // security hook refuses unless the user listed it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(Object.assign(new Error(`Body is not valid JSON: ${(error as Error).message}`), { statusCode: 400 }), undefined);
    }
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.setErrorHandler((error, request, reply) => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) request.log.error({ err: error }, "request failed");
    void reply.code(httpError.status).headers(httpError.headers ?? {}).send(errorBodyForUrl(request.url, httpError));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `Unknown route ${request.method} ${request.url.split("?")[0]}`;
    void reply.code(404).send(errorBodyForUrl(request.url, { status: 404, body: openAiError(404, message, "not_found") }));
  });

  // First, so that its hooks see upgrade requests before any guard may refuse them (and a
  // refused upgrade's socket is then closed, not left hanging).
  if (options.rpc !== false) await registerRpcWebSocket(app, { api: core.contract, logger: core.logger });
  registerObservability(app, core.metrics, core.auditLog, core.logger);
  // Keys created and CORS origins set in the app apply at once (read per request).
  registerSecurity(app, { ...options, liveAccess: options.liveAccess ?? core.contract.access });
  if (options.announce !== false) {
    const controller = headlessServerController(app, {
      hasConfiguredKeys: [...(options.apiKeys ?? []), ...(options.localOnlyApiKeys ?? [])].some((key) => key.length > 0),
      configuredCorsOrigins: options.corsOrigins ?? [],
    });
    let detach: (() => void) | undefined;
    app.addHook("onListen", async () => {
      detach = core.contract.attachServer(controller);
    });
    app.addHook("onClose", async () => detach?.());
  }
  // Adapters get the door, the catalogue and the Responses API's store, nothing else of the core.
  const services = { inference: core.inference, catalog: core.catalog, responses: core.responses, memory: core.memory, files: core.files, batches: core.batches };
  registerHealthRoutes(app, services, { runtimeReady: () => core.runtimeReady, providers: () => core.providers.status(), engine: () => core.engineBuild() });
  app.get("/metrics", async (_request, reply) => {
    const { contentType, body } = await core.metrics.render();
    return reply.header("content-type", contentType).send(body);
  });
  registerModelsRoutes(app, services);
  registerChatCompletionsRoute(app, services);
  registerCompletionsRoute(app, services);
  registerEmbeddingsRoute(app, services);
  registerRerankRoute(app, services);
  registerMemoryRoutes(app, services);
  registerOllamaRoutes(app, services);
  registerResponsesRoutes(app, services);
  registerFilesRoutes(app, services);
  registerBatchesRoutes(app, services);
  registerAnthropicRoutes(app, services);
  if (options.ui !== false) await registerUi(app, typeof options.ui === "object" ? options.ui : {});
  return app;
}
