import { z } from "zod";
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

/**
 * How deep a client's free-form JSON object (a JSON schema, Ollama's tool-call arguments) may
 * nest. The engine allows schemas 64 levels deep, about 130 JSON levels when each level is a
 * property; the structured clone that carries a request to the model host process, and
 * JSON.stringify (response cache keys, upstream forwarding), overflow the stack at a few
 * thousand levels, which gave a 500.
 */
export const MAX_JSON_NESTING = 256;

/** True when `value` nests objects or arrays more than `limit` levels deep. Iterative, so any depth is safe to ask about. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: Array<{ value: object; depth: number }> = typeof value === "object" && value !== null ? [{ value, depth: 1 }] : [];
  while (pending.length > 0) {
    const { value: current, depth } = pending.pop()!;
    if (depth > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === "object" && child !== null) pending.push({ value: child as object, depth: depth + 1 });
    }
  }
  return false;
}

/** Refuses a value nested deeper than {@link MAX_JSON_NESTING} with a 400 naming the field. */
export function withBoundedNesting<Schema extends z.ZodType>(schema: Schema) {
  return schema.refine((value) => !nestsDeeperThan(value, MAX_JSON_NESTING), {
    message: `JSON nested more than ${MAX_JSON_NESTING} levels deep; at most ${MAX_JSON_NESTING} are allowed`,
  });
}

/** A client's JSON object (a JSON schema), bounded in nesting. */
/** A client's free-form JSON object (a JSON schema), bounded in nesting. */
export const boundedJsonObjectSchema = withBoundedNesting(z.record(z.string(), z.unknown()));
