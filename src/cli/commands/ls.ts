import { CliUsageError } from "../cliError.js";

/** `marduk-local ls` (arrives with the model manager). */
export async function lsCommand(_args: string[]): Promise<number> {
  throw new CliUsageError("'ls' is not available in this build yet");
}
