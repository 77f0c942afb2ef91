import { APP_VERSION } from "../shared/version.js";
import { CliUsageError } from "./cliError.js";

export const MAIN_HELP = `marduk-local ${APP_VERSION}: run large language models on your own machine, offline.

Usage: marduk-local <command> [options]

Commands:
  serve        Run the local OpenAI- and Ollama-compatible API server (headless)
  pull <ref>   Download a model (hf:owner/repo/file.gguf, hf:owner/repo:Q4_K_M or an https URL)
  ls           List the models in the models folder
  rm <id>      Delete a model
  inspect <x>  Show a model's metadata and whether it fits this machine (id, file or hf ref)
  engine       Which llama.cpp build runs; build one for this machine (engine status|build|reset)

Run 'marduk-local <command> --help' for a command's options.
Options:
  -h, --help     Show this help
  -v, --version  Show the version
`;

type Command = (args: string[]) => Promise<number>;
/** Each command is imported only when it runs, so `--help` and `serve` start fast. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import("./commands/serve.js")).serveCommand,
  pull: async () => (await import("./commands/pull.js")).pullCommand,
  ls: async () => (await import("./commands/ls.js")).lsCommand,
  rm: async () => (await import("./commands/rm.js")).rmCommand,
  inspect: async () => (await import("./commands/inspect.js")).inspectCommand,
  engine: async () => (await import("./commands/engine.js")).engineCommand,
};

/** Runs the CLI and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "-v" || name === "--version") {
    process.stdout.write(`${APP_VERSION}\n`);
    return 0;
  }
  const loadCommand = COMMANDS[name];
  if (!loadCommand) {
    process.stderr.write(`Unknown command '${name}'.\n\n${MAIN_HELP}`);
    return 2;
  }
  try {
    const command = await loadCommand();
    return await command(rest);
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`marduk-local ${name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`marduk-local ${name} failed: ${(error as Error).message}\n`);
    return 1;
  }
}
