import type { ErrorCode } from "../../../shared/errorCodes.js";
import { MardukError } from "../../errors.js";

/** Why a hub call failed. */
export type HubFailureReason = "unauthorized" | "not_found" | "http_error" | "network" | "no_match" | "too_large";

const CODES: Record<HubFailureReason, ErrorCode> = {
  unauthorized: "hub_unauthorized",
  not_found: "model_not_found",
  http_error: "hub_unavailable",
  network: "hub_unavailable",
  no_match: "model_not_found",
  too_large: "unsupported",
};

/** A failed call to the Hugging Face hub (or the mirror HF_ENDPOINT points at). */
export class HubError extends MardukError {
  constructor(
    readonly reason: HubFailureReason,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(CODES[reason], message, { cause: options.cause });
    this.status = options.status;
  }

  readonly status?: number;
}

/** Turns an HTTP status into a HubError with a message that says what to do. */
export function hubErrorForStatus(status: number, what: string, hasToken: boolean): HubError {
  if (status === 401 || status === 403) {
    return new HubError(
      "unauthorized",
      hasToken
        ? `The hub refused access to ${what} (HTTP ${status}): the Hugging Face token has no access to it; accept the model's terms on its page, or check the token.`
        : `The hub refused access to ${what} (HTTP ${status}): it is gated or private; enter a Hugging Face access token (Models → Hugging Face token, or HF_TOKEN).`,
      { status },
    );
  }
  if (status === 404) return new HubError("not_found", `${what} was not found on the hub (HTTP 404)`, { status });
  return new HubError("http_error", `The hub answered HTTP ${status} for ${what}`, { status });
}
