import type { HttpError } from "./apiErrors.js";
import { anthropicErrorBody, isAnthropicPath } from "./anthropic/anthropicErrors.js";

/**
 * The error body a route's clients expect, by the request's URL: Ollama's `{"error": "..."}`
 * under `/api/`, Anthropic's `{"type": "error", "error": {type, message}}` under
 * `/v1/messages`, OpenAI's `{"error": {message, type, param, code}}` everywhere else. Every
 * shared guard and handler (security, not found, the error handler) answers through this, so a
 * client of each dialect can read every error it gets.
 */
export function errorBodyForUrl(url: string, error: HttpError): unknown {
  const path = url.split("?")[0]!;
  if (path.startsWith("/api/")) return { error: error.body.error.message };
  if (isAnthropicPath(path)) return anthropicErrorBody(error.status, error.body.error.message);
  return error.body;
}
