import { ERROR_CODES, type ErrorCode, type ErrorPayload } from "../errorCodes.js";

/**
 * The error a contract call rejects with on the client side: the server's error code (stable,
 * see ERROR_CODES), its message and the offending parameter, if any.
 */
export class RpcError extends Error implements ErrorPayload {
  readonly code: ErrorCode;
  readonly param?: string;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = "RpcError";
    this.code = payload.code;
    if (payload.param !== undefined) this.param = payload.param;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, ...(this.param !== undefined ? { param: this.param } : {}) };
  }
}

/** The message sent for errors that were not raised on purpose: details stay in the server's log. */
export const INTERNAL_ERROR_MESSAGE = "Internal error";

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * The wire form of anything a contract method threw. Errors raised on purpose — objects with a
 * known `code` and a string `message`, i.e. the core's MardukError and its subclasses, or an
 * RpcError relayed — keep their code, message and param. Anything else (a TypeError, a
 * library's error) becomes `internal_error` with a generic message, so stack traces and
 * library internals never leave the process.
 * @returns the payload, and whether it is an internal error (worth logging).
 */
export function toErrorPayload(error: unknown): { payload: ErrorPayload; unexpected: boolean } {
  if (typeof error === "object" && error !== null) {
    const { code, message, param } = error as { code?: unknown; message?: unknown; param?: unknown };
    if (isErrorCode(code) && typeof message === "string") {
      return { payload: { code, message, ...(typeof param === "string" ? { param } : {}) }, unexpected: code === "internal_error" };
    }
  }
  return { payload: { code: "internal_error", message: INTERNAL_ERROR_MESSAGE }, unexpected: true };
}

/** Checks an error payload received from the wire; a malformed one becomes a generic internal error. */
export function parseErrorPayload(value: unknown): ErrorPayload {
  if (typeof value === "object" && value !== null) {
    const { code, message, param } = value as { code?: unknown; message?: unknown; param?: unknown };
    if (isErrorCode(code) && typeof message === "string") return { code, message, ...(typeof param === "string" ? { param } : {}) };
  }
  return { code: "internal_error", message: INTERNAL_ERROR_MESSAGE };
}
