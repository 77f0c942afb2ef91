import { defaultModelsDir } from "../../core/appPaths.js";
import { formatBytes } from "../../core/models/library/formatBytes.js";
import { ModelLibrary } from "../../core/models/ModelLibrary.js";
import type { LibraryModel } from "../../shared/api/library.js";
import { parseCommandArgs } from "../parseCommandArgs.js";

export const LS_HELP = `Usage: marduk-local ls [options]

Lists the models in the models folder: id, size, quantization, architecture, context length
and status (a file that is not a usable GGUF model is listed as broken, with the reason).
A split model (name-00001-of-00003.gguf, ...) is listed once.

Options:
  --models-dir <dir>  Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                      else ${defaultModelsDir({}, process.platform)})
  --json              Print the full entries as JSON (files, parameters, capabilities, origin)
  -h, --help          Show this help
`;

/** Pads each column to its widest cell. */
function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n");
}

function statusText(model: LibraryModel): string {
  if (model.status === "broken") return `broken: ${model.error ?? "unknown reason"}`;
  return model.kind === "adapter" ? "ok (LoRA adapter)" : "ok";
}

/** `marduk-local ls`: the models in the models folder, as a table or JSON. */
export async function lsCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs({
    args,
    allowPositionals: false,
    options: {
      "models-dir": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(LS_HELP);
    return 0;
  }
  const library = new ModelLibrary({ modelsDir: values["models-dir"] ?? defaultModelsDir(), watch: false });
  try {
    const models = await library.list();
    if (values.json) {
      process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      process.stdout.write(`No models in ${library.modelsDir}\n`);
      return 0;
    }
    const rows = [
      ["ID", "SIZE", "QUANT", "ARCH", "CONTEXT", "STATUS"],
      ...models.map((model) => [
        model.id,
        formatBytes(model.sizeBytes),
        model.quantization ?? "-",
        model.architecture ?? "-",
        model.contextLength === undefined ? "-" : String(model.contextLength),
        statusText(model),
      ]),
    ];
    process.stdout.write(`${formatTable(rows)}\n`);
    return 0;
  } finally {
    library.dispose();
  }
}
