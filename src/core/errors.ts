import type { ErrorCode, ErrorPayload } from "../shared/errorCodes.js";

/**
 * Base class of every error the core raises on purpose. `code` is stable and is what the
 * HTTP and RPC edges map to statuses; `message` is for people.
 */
export class MardukError extends Error {
  readonly code: ErrorCode;
  param?: string;

  constructor(code: ErrorCode, message: string, options: { param?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.param = options.param;
  }

  /** Names the offending parameter (for errors raised below the layer that knows it). */
  withParam(param: string): this {
    this.param = param;
    return this;
  }

  toPayload(): ErrorPayload {
    return { code: this.code, message: this.message, ...(this.param ? { param: this.param } : {}) };
  }
}

export class ModelNotFoundError extends MardukError {
  constructor(modelId: string) {
    super("model_not_found", `The model '${modelId}' does not exist`, { param: "model" });
  }
}

export class ModelLoadFailedError extends MardukError {
  constructor(modelId: string, reason: string, cause?: unknown) {
    super("model_load_failed", `Failed to load model '${modelId}': ${reason}`, { cause });
  }
}

/**
 * A model's host process died (a native assert, a fatal JavaScript error, out of memory, a
 * hang the watchdog ended) while it served: its requests fail with this, and the model is
 * loaded again by the next request, after a backoff when it keeps crashing.
 */
export class ModelCrashedError extends MardukError {
  constructor(
    readonly modelId: string,
    message: string,
    /** Seconds until the model may be loaded again, during a crash backoff. */
    readonly retryAfterSeconds?: number,
    cause?: unknown,
  ) {
    super("model_crashed", message, { cause });
  }
}

export class ContextLengthExceededError extends MardukError {
  constructor(
    readonly promptTokens: number,
    readonly requestedTokens: number,
    readonly contextSize: number,
  ) {
    super(
      "context_length_exceeded",
      `This model's context holds ${contextSize} tokens, but the prompt has ${promptTokens} tokens` +
        (requestedTokens > 0 ? ` and ${requestedTokens} more were requested` : "") +
        ". Shorten the prompt or lower max_tokens.",
      { param: "messages" },
    );
  }
}

export class AbortedError extends MardukError {
  constructor(message = "The operation was aborted") {
    super("aborted", message);
  }
}

export class InvalidArgumentError extends MardukError {
  constructor(message: string, param?: string) {
    super("invalid_argument", message, { param });
  }
}

export class QueueFullError extends MardukError {
  constructor(
    readonly retryAfterSeconds: number,
    message = "Too many requests are waiting for this model; retry later",
  ) {
    super("queue_full", message);
  }
}

export class QueueTimeoutError extends MardukError {
  /** Sequences free up as generations end: a retry soon has a fair chance. */
  readonly retryAfterSeconds = 1;

  constructor(waitedMs: number) {
    super("queue_timeout", `No sequence became free within ${waitedMs} ms; retry later`);
  }
}

/** A remote provider answered with an error, or could not be reached. */
export class UpstreamError extends MardukError {
  constructor(
    readonly providerId: string,
    message: string,
    /** The upstream's HTTP status, when it answered. */
    readonly status?: number,
    /** The upstream's Retry-After, in seconds, when it sent one. */
    readonly retryAfterSeconds?: number,
    cause?: unknown,
  ) {
    super("upstream_error", message, { cause });
  }
}

/** No target of a model could serve the request (all down, open circuits, cooling down, or filtered out). */
export class NoTargetAvailableError extends MardukError {
  constructor(
    message: string,
    /** Seconds until a target may be available again, when known. */
    readonly retryAfterSeconds?: number,
  ) {
    super("no_target_available", message);
  }
}

export class UnsupportedError extends MardukError {
  constructor(message: string, param?: string) {
    super("unsupported", message, { param });
  }
}

/** `error` with the message and param of a payload (for classes whose constructors word their own messages). */
function carrying<E extends MardukError>(error: E, payload: ErrorPayload): E {
  error.message = payload.message;
  error.param = payload.param;
  return error;
}

/**
 * The error an {@link ErrorPayload} received from another process (a model host) stands for:
 * the same class where the core has one for its code (so `instanceof` checks and the
 * Retry-After of a full queue still work), with its message and param; else a MardukError.
 */
export function fromErrorPayload(payload: ErrorPayload): MardukError {
  const { code, message, param, retryAfterSeconds } = payload;
  switch (code) {
    case "model_not_found":
      return carrying(new ModelNotFoundError(""), payload);
    case "model_load_failed":
      return carrying(new ModelLoadFailedError("", ""), payload);
    case "model_crashed":
      return carrying(new ModelCrashedError("", message, retryAfterSeconds), payload);
    case "aborted":
      return carrying(new AbortedError(message), payload);
    case "invalid_argument":
      return new InvalidArgumentError(message, param);
    case "unsupported":
      return new UnsupportedError(message, param);
    case "queue_full":
      return carrying(new QueueFullError(retryAfterSeconds ?? 1, message), payload);
    case "queue_timeout":
      return carrying(new QueueTimeoutError(0), payload);
    default:
      return new MardukError(code, message, param !== undefined ? { param } : {});
  }
}

/** node-llama-cpp's words when llama_decode finds no room in the KV cache for a batch. */
const NO_KV_SLOT = /could not find a KV slot/i;

/** Turns anything thrown into a MardukError without losing the original as `cause`. */
export function toMardukError(error: unknown): MardukError {
  if (error instanceof MardukError) return error;
  if (error instanceof Error && error.name === "AbortError") return new AbortedError();
  const message = error instanceof Error ? error.message : String(error);
  // The prompt (with what the other sequences hold) does not fit the context: the request's size
  // is the cause a client can act on, so a 400 rather than an internal error.
  if (NO_KV_SLOT.test(message)) {
    return new MardukError(
      "context_length_exceeded",
      "The model's context has no room left for this prompt (llama.cpp found no free KV cache slot). Shorten the prompt or lower max_tokens, or load the model with a larger context.",
      { param: "messages", cause: error },
    );
  }
  return new MardukError("internal_error", message, { cause: error });
}
