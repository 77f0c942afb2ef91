import { InvalidArgumentError } from "../../errors.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Ollama's `keep_alive`: a number of seconds, or a duration such as "5m", "1h30m", "10s";
 * 0 unloads right after the request, a negative value keeps the model loaded.
 * @returns milliseconds (negative = forever), or undefined when absent.
 */
export function parseKeepAlive(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value < 0 ? -1 : value * 1000;
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return parseKeepAlive(Number(trimmed));
    if (trimmed.startsWith("-")) return -1;
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length > 0 && parts.map((part) => part[0]).join("") === trimmed) {
      return parts.reduce((total, part) => total + Number(part[1]) * UNIT_MS[part[2]!]!, 0);
    }
  }
  throw new InvalidArgumentError(`keep_alive '${String(value)}' is not a duration (e.g. "5m", "30s", 0, -1)`, "keep_alive");
}
