import type { ErrorCode } from "../../shared/errorCodes.js";
import { MardukError } from "../errors.js";

/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface HttpError {
  status: number;
  body: OpenAiErrorBody;
  headers?: Record<string, string>;
}

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  model_not_found: 404,
  model_load_failed: 500,
  // A remote provider failed, or every target of a model is down or busy.
  upstream_error: 502,
  no_target_available: 503,
  context_length_exceeded: 400,
  aborted: 499,
  invalid_argument: 400,
  queue_full: 429,
  queue_timeout: 503,
  unsupported: 400,
  // Failures of the hub or of a download are the upstream's, not the client's.
  hub_unauthorized: 403,
  hub_unavailable: 502,
  download_failed: 502,
  insufficient_storage: 507,
  internal_error: 500,
  model_crashed: 500,
};

/** OpenAI's spelling of codes where it has one. */
const WIRE_CODE: Partial<Record<ErrorCode, string>> = {
  invalid_argument: "invalid_value",
  unsupported: "unsupported_parameter",
};

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "invalid_request_error",
  413: "invalid_request_error",
  429: "rate_limit_error",
  499: "request_aborted",
  502: "upstream_error",
  503: "server_error",
  507: "server_error",
};

/** Builds an error in OpenAI's shape. */
export function openAiError(status: number, message: string, code: string | null = null, param: string | null = null): OpenAiErrorBody {
  return { error: { message, type: TYPE_BY_STATUS[status] ?? "server_error", param, code } };
}

/** The Retry-After an error carries, in whole seconds (at least 1), if any. */
function retryAfterOf(error: MardukError): number | undefined {
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0 ? Math.max(1, Math.ceil(seconds)) : undefined;
}

/**
 * Maps anything thrown by a handler to an HTTP status and OpenAI error body.
 * Unexpected errors become a 500 with a generic message: stack traces never leave the process.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof MardukError) {
    const status = STATUS_BY_CODE[error.code];
    const message = error.code === "internal_error" ? "Internal server error" : error.message;
    return {
      status,
      body: openAiError(status, message, WIRE_CODE[error.code] ?? error.code, error.param ?? null),
      // Overload errors (full queue, queue timeout, no target, crash backoff) say when to come back.
      ...(retryAfterOf(error) !== undefined ? { headers: { "retry-after": String(retryAfterOf(error)) } } : {}),
    };
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const message =
      fastifyError.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? "Request body is too large"
        : fastifyError.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
          ? "Content-Type must be application/json"
          : status === 400
            ? `Invalid request: ${fastifyError.message ?? "malformed body"}`
            : (fastifyError.message ?? "Bad request");
    return { status, body: openAiError(status, message, status === 413 ? "body_too_large" : "invalid_request") };
  }
  return { status: 500, body: openAiError(500, "Internal server error", "internal_error") };
}
