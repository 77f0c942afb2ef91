import { parseArgs } from "node:util";
import { defaultModelsDir } from "../../core/appPaths.js";
import { BACKENDS, type Backend } from "../../core/llama/backend.js";
import { CliUsageError } from "../cliError.js";

export interface ServeOptions {
  host: string;
  port: number;
  modelsDir: string;
  models: string[];
  threads?: number;
  backend: Backend;
  contextSize?: number;
  parallel?: number;
  queue?: number;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 11435;

export const SERVE_HELP = `Usage: marduk-local serve [options]

Runs the local API server (headless).

Options:
  --host <address>        Address to listen on (default ${DEFAULT_HOST})
  --port <number>         Port to listen on, 0 for any free port (default ${DEFAULT_PORT})
  --models-dir <dir>      Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                          else ${defaultModelsDir({}, process.platform)})
  --model <id|file>       Load this model at start; repeatable
  --threads <n>           CPU threads per evaluation (default: about one per physical core)
  --gpu <backend>         auto | cuda | vulkan | metal | cpu (default auto)
  --ctx-size <n>          Context size per sequence (default: model's, at most 4096)
  --parallel <n>          Sequences generating at once per model (default 4)
  --queue <n>             Requests waiting per model before 429 (default 64)
  -h, --help              Show this help
`;

function parseInteger(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new CliUsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  }
  return number;
}

/** Parses `serve`'s flags. @throws CliUsageError */
export function parseServeOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        "models-dir": { type: "string" },
        model: { type: "string", multiple: true },
        threads: { type: "string" },
        gpu: { type: "string" },
        "ctx-size": { type: "string" },
        parallel: { type: "string" },
        queue: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  const values = parsed.values;
  if (values.help) return "help";
  const backend = (values.gpu ?? "auto") as Backend;
  if (!BACKENDS.includes(backend)) throw new CliUsageError(`--gpu must be one of ${BACKENDS.join(", ")}, got '${values.gpu}'`);
  return {
    host: values.host ?? DEFAULT_HOST,
    port: parseInteger("port", values.port, 0, 65535) ?? DEFAULT_PORT,
    modelsDir: values["models-dir"] ?? defaultModelsDir(env),
    models: values.model ?? [],
    threads: parseInteger("threads", values.threads, 1, 1024),
    backend,
    contextSize: parseInteger("ctx-size", values["ctx-size"], 16, 1 << 20),
    parallel: parseInteger("parallel", values.parallel, 1, 64),
    queue: parseInteger("queue", values.queue, 0, 100_000),
  };
}
