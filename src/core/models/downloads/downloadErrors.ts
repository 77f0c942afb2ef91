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
  checksum_mismatch: "download_failed",
  size_mismatch: "download_failed",
  insufficient_disk: "insufficient_storage",
  unauthorized: "hub_unauthorized",
  not_found: "model_not_found",
  http_error: "download_failed",
  network: "download_failed",
  stalled: "download_failed",
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
