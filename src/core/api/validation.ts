import type { z } from "zod";
import { InvalidArgumentError } from "../errors.js";

/** `["messages", 0, "content"]` → `messages[0].content`. */
export function formatParamPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === "number" ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), "");
}

/**
 * Validates a request body with a zod schema.
 * @throws InvalidArgumentError naming the first offending parameter, e.g.
 *   "Invalid value for 'temperature': Too big: expected number to be <=2".
 */
export function parseBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (body === undefined || body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidArgumentError("The request body must be a JSON object");
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = formatParamPath(issue.path);
  const missing = issue.code === "invalid_type" && issue.message.includes("undefined");
  const message = missing ? `Missing required parameter: '${param}'` : param ? `Invalid value for '${param}': ${issue.message}` : issue.message;
  throw new InvalidArgumentError(message, param || undefined);
}
