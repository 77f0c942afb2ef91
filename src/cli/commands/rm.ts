import { CliUsageError } from "../cliError.js";

/** `marduk-local rm` (arrives with the model manager). */
export async function rmCommand(_args: string[]): Promise<number> {
  throw new CliUsageError("'rm' is not available in this build yet");
}
