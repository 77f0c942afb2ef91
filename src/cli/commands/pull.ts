import { CliUsageError } from "../cliError.js";

/** `marduk-local pull` (arrives with the model manager). */
export async function pullCommand(_args: string[]): Promise<number> {
  throw new CliUsageError("'pull' is not available in this build yet");
}
