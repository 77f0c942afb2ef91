/** Anthropic's error body: `{"type": "error", "error": {"type", "message"}}`. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
}

/** Anthropic's error types by HTTP status (its documented table; 413 is `request_too_large`). */
const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  408: "invalid_request_error",
  413: "request_too_large",
  429: "rate_limit_error",
  503: "overloaded_error",
  529: "overloaded_error",
};

/** True for the routes of the Anthropic dialect (`/v1/messages` and below). */
export function isAnthropicPath(path: string): boolean {
  return path === "/v1/messages" || path.startsWith("/v1/messages/");
}

/** An error in Anthropic's shape; statuses it has no type for are `api_error` (4xx: `invalid_request_error`). */
export function anthropicErrorBody(status: number, message: string): AnthropicErrorBody {
  const type = TYPE_BY_STATUS[status] ?? (status >= 400 && status < 500 ? "invalid_request_error" : "api_error");
  return { type: "error", error: { type, message } };
}
