/** The stable code of an RPC error (e.g. "model_not_found"), when the error has one. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") return error.code;
  return undefined;
}

/** A sentence for people from anything thrown or rejected. */
export function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== "") {
    return error.message;
  }
  return "Something went wrong.";
}

/** True for errors that mean the API key is missing or wrong. */
export function isUnauthorizedError(error: unknown): boolean {
  const code = errorCode(error);
  return code === "unauthorized" || code === "invalid_api_key";
}
