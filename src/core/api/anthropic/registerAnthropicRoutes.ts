import type { FastifyInstance } from "fastify";
import type { ApiServices } from "../apiServices.js";
import { registerCountTokensRoute } from "./countTokensRoute.js";
import { registerMessagesRoute } from "./messagesRoute.js";

/**
 * Anthropic's Messages API over the inference door (same routing, cache, metrics, audit and
 * keys as the OpenAI dialect). Its errors are in Anthropic's shape: see errorDialect.ts.
 */
export function registerAnthropicRoutes(app: FastifyInstance, services: ApiServices): void {
  registerMessagesRoute(app, services);
  registerCountTokensRoute(app, services);
}
