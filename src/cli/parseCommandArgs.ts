import { parseArgs, type ParseArgsConfig } from "node:util";
import { CliUsageError } from "./cliError.js";

/** node's parseArgs (strict by default), with its errors turned into usage errors (exit code 2). */
export function parseCommandArgs<const T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ strict: true, ...config });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}

/** An integer flag within bounds, or undefined when absent. @throws CliUsageError */
export function parseIntegerFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new CliUsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return number;
}

/** A number flag within bounds (fractions allowed), or undefined when absent. @throws CliUsageError */
export function parseNumberFlag(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
    throw new CliUsageError(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
  }
  return number;
}
