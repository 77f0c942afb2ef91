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
  | "locked"
  /** A URL (the first one or a redirect target) that the download URL policy does not allow. */
  | "url_refused"
  | "too_many_redirects"
  /** The answer does not start with the GGUF magic (nothing of it is kept or quoted). */
  | "not_gguf";

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
  url_refused: "download_failed",
  too_many_redirects: "download_failed",
  not_gguf: "download_failed",
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
