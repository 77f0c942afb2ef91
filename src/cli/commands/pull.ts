import { mkdirSync } from "node:fs";
import path from "node:path";
import type { DownloadProgress } from "../../shared/api/hub.js";
import { defaultModelsDir } from "../../core/appPaths.js";
import { AbortedError, InvalidArgumentError } from "../../core/errors.js";
import { DownloadManager } from "../../core/models/downloads/DownloadManager.js";
import { formatBytes, formatDuration } from "../../core/models/downloads/formatBytes.js";
import { HubClient } from "../../core/models/hub/HubClient.js";
import { STARTER_MODELS } from "../../core/models/starterModels.js";
import { CliUsageError } from "../cliError.js";
import { parseCommandArgs } from "../parseCommandArgs.js";

export const PULL_HELP = `Usage: marduk-local pull <ref> [options]

Downloads a model into the models folder, verified against the hub's sha256.
<ref> is one of:
  hf:owner/repo/file.gguf      a file of a Hugging Face repository (any part of a split model)
  hf:owner/repo:Q4_K_M         the file of that quantization
  hf:owner/repo                the best quantization that fits this machine
  https://host/path/file.gguf  any URL, saved as <models>/<host>/file.gguf; plain http only to
                               this machine (localhost, 127.0.0.1, [::1]), also after redirects
  <starter>                    a starter model, at the quantization that fits this machine:
${STARTER_MODELS.map((starter) => `                                 ${starter.name.padEnd(18)} ${starter.title}`).join("\n")}
Append @<revision> to an hf ref for a branch, tag or commit.

A download interrupted by Ctrl-C, a crash or a lost connection resumes where it stopped
the next time the same model is pulled.

Options:
  --models-dir <dir>   Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                       else ${defaultModelsDir({}, process.platform)})
  --quiet              No progress bar
  -h, --help           Show this help

Environment:
  HF_ENDPOINT          Hugging Face hub URL (default https://huggingface.co), e.g. a mirror
  HF_TOKEN             Access token, for gated or private repositories

Exit codes: 0 downloaded (or already there), 1 failed, 2 usage error, 130 interrupted.
`;

interface PullOptions {
  ref: string;
  modelsDir: string;
  quiet: boolean;
}

function parsePullOptions(args: string[], env: NodeJS.ProcessEnv): PullOptions | "help" {
  const parsed = parseCommandArgs({
    args,
    allowPositionals: true,
    options: {
      "models-dir": { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (parsed.values.help) return "help";
  if (parsed.positionals.length !== 1) {
    throw new CliUsageError(parsed.positionals.length === 0 ? "expected a model reference (see --help)" : "expected exactly one model reference");
  }
  return {
    ref: parsed.positionals[0]!,
    modelsDir: path.resolve(parsed.values["models-dir"] ?? defaultModelsDir(env)),
    quiet: parsed.values.quiet ?? false,
  };
}

const BAR_WIDTH = 24;

/** `[#########---------]  42%  12.3 MB / 29.4 MB  5.10 MB/s  ETA 3s` */
export function formatProgressLine(progress: DownloadProgress): string {
  const total = progress.totalBytes;
  const fraction = total ? Math.min(1, progress.receivedBytes / total) : undefined;
  const filled = fraction === undefined ? 0 : Math.round(fraction * BAR_WIDTH);
  const bar = `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}]`;
  const percent = fraction === undefined ? "  ?%" : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const bytes = `${formatBytes(progress.receivedBytes)} / ${total === undefined ? "?" : formatBytes(total)}`;
  const speed = `${formatBytes(progress.bytesPerSecond)}/s`;
  const parts = progress.parts > 1 ? `  part ${progress.part}/${progress.parts}` : "";
  const retry = progress.attempt > 1 ? `  (attempt ${progress.attempt})` : "";
  return `${bar} ${percent}  ${bytes}  ${speed}  ETA ${formatDuration(progress.etaSeconds)}${parts}${retry}`;
}

/** Draws progress on standard error: one redrawn line on a terminal, a line per 10% otherwise. */
class ProgressView {
  private lastDecile = -1;
  private lastLineAt = 0;
  private drawn = false;
  private lastState?: string;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly quiet: boolean,
  ) {}

  update(progress: DownloadProgress): void {
    if (progress.state !== this.lastState) {
      this.lastState = progress.state;
      this.announce(progress);
    }
    if (this.quiet || progress.state !== "downloading") return;
    const line = formatProgressLine(progress);
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
      return;
    }
    const decile = progress.totalBytes ? Math.floor((progress.receivedBytes / progress.totalBytes) * 10) : -1;
    const now = Date.now();
    if (decile !== this.lastDecile || now - this.lastLineAt > 10_000) {
      this.lastDecile = decile;
      this.lastLineAt = now;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the redrawn line so the next message starts on its own line. */
  finish(): void {
    if (this.drawn) this.stream.write("\n");
    this.drawn = false;
  }

  private announce(progress: DownloadProgress): void {
    if (this.quiet) return;
    if (progress.state === "downloading") {
      const size = progress.totalBytes === undefined ? "" : ` (${formatBytes(progress.totalBytes)})`;
      const resume = progress.resumedFromBytes > 0 ? `, resuming at ${formatBytes(progress.resumedFromBytes)}` : "";
      this.stream.write(`Downloading ${progress.modelId ?? progress.ref}${size}${resume}\n`);
    } else if (progress.state === "verifying") {
      this.finish();
      this.stream.write("Verifying sha256...\n");
    } else if (progress.state === "resolving") {
      this.stream.write(`Resolving ${progress.ref}...\n`);
    }
  }
}

/**
 * `marduk-local pull <ref>`: downloads a model with a progress bar. Ctrl-C (or SIGTERM) stops
 * it and keeps the partial file; pulling the same ref again resumes it.
 */
export async function pullCommand(args: string[]): Promise<number> {
  const options = parsePullOptions(args, process.env);
  if (options === "help") {
    process.stdout.write(PULL_HELP);
    return 0;
  }
  mkdirSync(options.modelsDir, { recursive: true });
  const hub = HubClient.fromEnv(process.env);
  const downloads = new DownloadManager({ modelsDir: options.modelsDir, hub });
  let task;
  try {
    task = downloads.start(options.ref);
  } catch (error) {
    hub.dispose();
    if (error instanceof InvalidArgumentError) throw new CliUsageError(error.message);
    throw error;
  }
  const view = new ProgressView(process.stderr, options.quiet);
  task.onProgress((progress) => view.update(progress));
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    task.cancel();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const result = await task.done;
    view.finish();
    const where = result.paths.length === 1 ? result.paths[0]! : `${path.dirname(result.paths[0]!)} (${result.paths.length} parts)`;
    process.stdout.write(
      result.alreadyPresent
        ? `${result.modelId} is already downloaded and verified: ${where}\n`
        : `Pulled ${result.modelId} (${formatBytes(result.sizeBytes)}): ${where}\n`,
    );
    return 0;
  } catch (error) {
    view.finish();
    if (interrupted || error instanceof AbortedError) {
      process.stderr.write("Interrupted. The partial download is kept: run the same pull again to resume.\n");
      return 130;
    }
    process.stderr.write(`marduk-local pull failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await downloads.dispose();
    hub.dispose();
  }
}
