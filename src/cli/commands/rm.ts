import path from "node:path";
import { defaultModelsDir } from "../../core/appPaths.js";
import { MardukError } from "../../core/errors.js";
import { deleteModelFiles } from "../../core/models/library/deleteModelFiles.js";
import { CliUsageError } from "../cliError.js";
import { parseCommandArgs } from "../parseCommandArgs.js";

export const RM_HELP = `Usage: marduk-local rm <id> [options]

Deletes a model from the models folder: its GGUF file, every part of a split model, and the
origin record written by 'pull'. Only ids inside the models folder are accepted
(see 'marduk-local ls'). A running server unloads nothing: stop it or let the model idle out first.

Options:
  --models-dir <dir>  Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                      else ${defaultModelsDir({}, process.platform)})
  -y, --yes           Accepted for scripts; rm never asks
  -h, --help          Show this help
`;

/** `marduk-local rm <id>`: deletes a model's files and prints what it deleted. */
export async function rmCommand(args: string[]): Promise<number> {
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      "models-dir": { type: "string" },
      yes: { type: "boolean", short: "y" },
      help: { type: "boolean", short: "h" },
    },
  });
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(RM_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError(`expected one model id, got ${positionals.length}`);
  const modelsDir = path.resolve(values["models-dir"] ?? defaultModelsDir());
  let deleted: string[];
  try {
    deleted = await deleteModelFiles(modelsDir, positionals[0]!);
  } catch (error) {
    if (error instanceof MardukError && (error.code === "model_not_found" || error.code === "invalid_argument")) {
      const where = error.code === "model_not_found" ? ` in ${modelsDir}` : ` (ids are paths inside ${modelsDir})`;
      process.stderr.write(`marduk-local rm: ${error.message}${where}\n`);
      return 1;
    }
    throw error;
  }
  for (const file of deleted) process.stdout.write(`Deleted ${path.relative(modelsDir, file)}\n`);
  return 0;
}
