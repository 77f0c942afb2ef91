import type { FastifyRequest } from "fastify";
import type { ChatMessage, GenerationUsage } from "../../shared/api/generation.js";

/** What a handler learns about a request that the audit log and metrics want. */
export interface AuditDetails {
  model?: string;
  usage?: GenerationUsage;
  /** The prompt (kept only when prompt logging is on). */
  prompt?: string | readonly ChatMessage[];
  /** Overrides the HTTP status (an error reported inside a stream that started with 200). */
  status?: number;
  /** Fingerprint of the API key that authenticated the request. */
  keyId?: string;
  /** The key is one whose requests must never leave this machine. */
  keyLocalOnly?: boolean;
}

const details = new WeakMap<FastifyRequest, AuditDetails>();

/** Adds to what is known of a request; later values win. */
export function recordAudit(request: FastifyRequest, update: AuditDetails): void {
  details.set(request, { ...details.get(request), ...update });
}

export function auditDetails(request: FastifyRequest): AuditDetails {
  return details.get(request) ?? {};
}
