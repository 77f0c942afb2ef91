/**
 * Stable error codes shared by the core, the HTTP API and the UI.
 * They never change meaning; new codes may be added.
 */
export const ERROR_CODES = [
  "model_not_found",
  "model_load_failed",
  "upstream_error",
  "no_target_available",
  "context_length_exceeded",
  "aborted",
  "invalid_argument",
  "queue_full",
  "queue_timeout",
  "unsupported",
  "hub_unauthorized",
  "hub_unavailable",
  "download_failed",
  "insufficient_storage",
  "internal_error",
  // A model's host process died (native assert, out of memory, hang) while serving or loading.
  "model_crashed",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The serialisable shape of an error as it crosses a process or network boundary. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** The offending parameter, when the error is about one. */
  param?: string;
  /** Seconds after which a retry may succeed (a full queue, a crash backoff), when known. */
  retryAfterSeconds?: number;
}
