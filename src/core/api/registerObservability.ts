import type { FastifyInstance } from "fastify";
import type { ChatMessage } from "../../shared/api/generation.js";
import type { Metrics } from "../telemetry/Metrics.js";
import type { AuditLog } from "../storage/AuditLog.js";
import type { Logger } from "../logger.js";
import { auditDetails } from "./auditContext.js";

function promptText(prompt: string | readonly ChatMessage[] | undefined): string | undefined {
  if (prompt === undefined) return undefined;
  return typeof prompt === "string" ? prompt : JSON.stringify(prompt);
}

/**
 * Records every request in the metrics and the audit log once its response is over — also
 * for streamed (hijacked) responses and clients that disconnect, which Fastify's own
 * onResponse hook does not see.
 */
export function registerObservability(app: FastifyInstance, metrics: Metrics, auditLog: AuditLog | undefined, logger: Logger): void {
  app.addHook("onRequest", async (request, reply) => {
    const startedAt = performance.now();
    reply.raw.once("close", () => {
      const seconds = (performance.now() - startedAt) / 1000;
      const route = request.routeOptions.url ?? "unmatched";
      const details = auditDetails(request);
      const status = details.status ?? (reply.raw.writableFinished ? reply.raw.statusCode : 499);
      metrics.recordHttpRequest(route, request.method, status, seconds);
      if (!auditLog || route === "/health" || route === "/metrics") return;
      try {
        auditLog.record({
          time: new Date().toISOString(),
          requestId: request.id,
          clientAddress: request.ip,
          keyId: details.keyId,
          method: request.method,
          route,
          model: details.model,
          promptTokens: details.usage?.promptTokens,
          completionTokens: details.usage?.completionTokens,
          status,
          durationMs: seconds * 1000,
          prompt: auditLog.logPrompts ? promptText(details.prompt) : undefined,
        });
      } catch (error) {
        logger.error({ err: error }, "audit log write failed");
      }
    });
  });
}
