import type { ErrorCode } from "../../../shared/errorCodes.js";
import { MardukError } from "../../errors.js";

/** Why a download failed. */
export type DownloadFailureReason =
  | "checksum_mismatch"
  | "size_mismatch"
  | "insufficient_disk"
  | "unauthorized"
  | "not_found"
  | "http_error"
  | "network"
  | "stalled"
  | "locked";

const CODES: Record<DownloadFailureReason, ErrorCode> = {
  checksum_mismatch: "internal_error",
  size_mismatch: "internal_error",
  insufficient_disk: "unsupported",
  unauthorized: "invalid_argument",
  not_found: "model_not_found",
  http_error: "internal_error",
  network: "internal_error",
  stalled: "internal_error",
  locked: "invalid_argument",
};

/**
 * A failed download. `retryable` errors (dropped connections, stalls, HTTP 5xx and 429) are
 * retried with backoff from where the partial file ends; the others fail the download at once.
 */
export class DownloadError extends MardukError {
  readonly retryable: boolean;

  constructor(
    readonly reason: DownloadFailureReason,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(CODES[reason], message, { cause: options.cause });
    this.retryable = options.retryable ?? false;
    this.status = options.status;
  }

  readonly status?: number;
}
