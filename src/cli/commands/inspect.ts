import { CliUsageError } from "../cliError.js";

/** `marduk-local inspect` (arrives with the model manager). */
export async function inspectCommand(_args: string[]): Promise<number> {
  throw new CliUsageError("'inspect' is not available in this build yet");
}
