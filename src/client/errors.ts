import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import type { ErrorCode } from "./types.js";

/** Base class of every error the SDK throws: the server's stable code and the offending parameter. */
export class MardukClientError extends Error {
  /** The server's stable error code (src/shared/errorCodes.ts) or OpenAI's wire spelling of it. */
  readonly code: ErrorCode | (string & {});
  readonly status?: number;
  readonly param?: string;
  /** Seconds the server asked to wait before a retry (`Retry-After`), when it said. */
  readonly retryAfterSeconds?: number;

  constructor(message: string, details: { code: string; status?: number; param?: string | null; retryAfterSeconds?: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = details.code;
    if (details.status !== undefined) this.status = details.status;
    if (details.param) this.param = details.param;
    if (details.retryAfterSeconds !== undefined) this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

export class ModelNotFoundError extends MardukClientError {}
export class ContextLengthExceededError extends MardukClientError {}
/** 429: the server's queue is full; retried by the SDK after `Retry-After`. */
export class QueueFullError extends MardukClientError {}
export class UnauthorizedError extends MardukClientError {}
/** 503 or no connection: the server (or every target of the model) is unavailable for now. */
export class ServerUnavailableError extends MardukClientError {}
export class InvalidRequestError extends MardukClientError {}
/** The caller's AbortSignal fired. `name` is "AbortError" like the platform's, so `error.name === "AbortError"` checks work. */
export class RequestAbortedError extends MardukClientError {
  constructor(message = "The request was aborted", cause?: unknown) {
    super(message, { code: "aborted", cause });
    this.name = "AbortError";
  }
}
export class RequestTimeoutError extends MardukClientError {}

/** Seconds from a `Retry-After` header (seconds or an HTTP date). */
export function retryAfterSecondsOf(headers: Headers | undefined): number | undefined {
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

const isAbort = (error: unknown) => error instanceof APIUserAbortError || (error instanceof Error && error.name === "AbortError");

/** Maps anything the openai package (or fetch) throws to a typed SDK error; SDK errors pass through. */
export function toClientError(error: unknown): MardukClientError {
  if (error instanceof MardukClientError) return error;
  if (isAbort(error)) return new RequestAbortedError(undefined, error);
  if (error instanceof APIConnectionTimeoutError) return new RequestTimeoutError("The request timed out", { code: "timeout", cause: error });
  if (error instanceof APIConnectionError) return new ServerUnavailableError(`Cannot reach the server: ${error.message}`, { code: "connection_error", cause: error });
  if (error instanceof APIError) {
    const body = (error.error ?? {}) as { message?: unknown; code?: unknown; param?: unknown };
    const code = typeof error.code === "string" ? error.code : typeof body.code === "string" ? body.code : `http_${error.status ?? "error"}`;
    const message = typeof body.message === "string" ? body.message : error.message;
    const details = { code, status: error.status, param: typeof error.param === "string" ? error.param : null, retryAfterSeconds: retryAfterSecondsOf(error.headers), cause: error };
    const ErrorClass = errorClassOf(code, error.status);
    return new ErrorClass(message, details);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new MardukClientError(message, { code: "client_error", cause: error });
}

function errorClassOf(code: string, status: number | undefined): new (message: string, details: ConstructorParameters<typeof MardukClientError>[1]) => MardukClientError {
  switch (code) {
    case "model_not_found":
      return ModelNotFoundError;
    case "context_length_exceeded":
      return ContextLengthExceededError;
    case "queue_full":
      return QueueFullError;
    case "no_target_available":
    case "queue_timeout":
    case "model_crashed":
      return ServerUnavailableError;
    case "invalid_argument":
    case "invalid_value":
    case "unsupported":
    case "unsupported_parameter":
      return InvalidRequestError;
  }
  if (status === 401 || status === 403) return UnauthorizedError;
  if (status === 404) return ModelNotFoundError;
  if (status === 429) return QueueFullError;
  if (status === 503) return ServerUnavailableError;
  if (status === 400 || status === 413 || status === 422) return InvalidRequestError;
  return MardukClientError;
}
