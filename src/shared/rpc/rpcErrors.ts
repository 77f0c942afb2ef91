import { ERROR_CODES, type ErrorCode, type ErrorPayload } from "../errorCodes.js";

/**
 * The error a contract call rejects with on the client side: the server's error code (stable,
 * see ERROR_CODES), its message and the offending parameter, if any.
 */
export class RpcError extends Error implements ErrorPayload {
  readonly code: ErrorCode;
  readonly param?: string;
  readonly retryAfterSeconds?: number;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = "RpcError";
    this.code = payload.code;
    if (payload.param !== undefined) this.param = payload.param;
    if (payload.retryAfterSeconds !== undefined) this.retryAfterSeconds = payload.retryAfterSeconds;
  }

  toPayload(): ErrorPayload {
    return {
      code: this.code,
      message: this.message,
      ...(this.param !== undefined ? { param: this.param } : {}),
      ...(this.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.retryAfterSeconds } : {}),
    };
  }
}

/** The message sent for errors that were not raised on purpose: details stay in the server's log. */
export const INTERNAL_ERROR_MESSAGE = "Internal error";

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** The optional fields of a payload that are well-formed. */
function optionalFields(param: unknown, retryAfterSeconds: unknown): Pick<ErrorPayload, "param" | "retryAfterSeconds"> {
  return {
    ...(typeof param === "string" ? { param } : {}),
    ...(typeof retryAfterSeconds === "number" && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0 ? { retryAfterSeconds } : {}),
  };
}

/**
 * The wire form of anything a contract method threw. Errors raised on purpose — objects with a
 * known `code` and a string `message`, i.e. the core's MardukError and its subclasses, or an
 * RpcError relayed — keep their code, message, param and retry hint. Anything else (a TypeError, a
 * library's error) becomes `internal_error` with a generic message, so stack traces and
 * library internals never leave the process.
 * @returns the payload, and whether it is an internal error (worth logging).
 */
export function toErrorPayload(error: unknown): { payload: ErrorPayload; unexpected: boolean } {
  if (typeof error === "object" && error !== null) {
    const { code, message, param, retryAfterSeconds } = error as { code?: unknown; message?: unknown; param?: unknown; retryAfterSeconds?: unknown };
    if (isErrorCode(code) && typeof message === "string") {
      return { payload: { code, message, ...optionalFields(param, retryAfterSeconds) }, unexpected: code === "internal_error" };
    }
  }
  return { payload: { code: "internal_error", message: INTERNAL_ERROR_MESSAGE }, unexpected: true };
}

/** Checks an error payload received from the wire; a malformed one becomes a generic internal error. */
export function parseErrorPayload(value: unknown): ErrorPayload {
  if (typeof value === "object" && value !== null) {
    const { code, message, param, retryAfterSeconds } = value as { code?: unknown; message?: unknown; param?: unknown; retryAfterSeconds?: unknown };
    if (isErrorCode(code) && typeof message === "string") return { code, message, ...optionalFields(param, retryAfterSeconds) };
  }
  return { code: "internal_error", message: INTERNAL_ERROR_MESSAGE };
}
