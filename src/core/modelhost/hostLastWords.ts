/** How a model host process ended. */
export interface HostExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** Its last lines of raw output (native asserts and V8's fatal errors go straight to stderr). */
  lastLines: readonly string[];
  /** Why the parent killed it, when it did (the watchdog). */
  killedBecause?: string;
  /** True when the parent asked it to exit (an unload); false for a crash. */
  expected: boolean;
}

/** Lines that say why a process died, in llama.cpp's, ggml's, V8's and Node's words. */
const NOTABLE_LINE = /GGML_ASSERT|GGML_ABORT|fatal|error|abort|assert|out of memory|terminate called|segmentation/i;
/** Noise around those lines: V8's frames and separators, stack traces. */
const NOISE_LINE = /^\s*(#\s*)?$|^-{3,}|^\s*\d+: 0x[0-9a-f]+|^\s+at |Native stack trace|FailureMessage Object/i;

/** V8's header line ("Fatal error in <file>, line N"): the line after it says more. */
const V8_HEADER_LINE = /^Fatal error in .*, line \d+$/;

const MAX_REASON_LENGTH = 400;

/** Drops directories from source paths (`/home/runner/.../llama-model.cpp:1226:` → `llama-model.cpp:1226:`). */
function shortenPaths(line: string): string {
  return line.replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/:]+)+[\\/]([^\s\\/:]+:\d+)/g, "$1");
}

/**
 * The few lines that tell why a host died, from its last output: the notable ones (asserts,
 * fatal errors), without repeats (each llama.cpp thread prints the same assert), else its last line.
 */
export function pickLastWords(lines: readonly string[]): string[] {
  const meaningful = lines.map((line) => line.trim()).filter((line) => line !== "" && !NOISE_LINE.test(line));
  const notable = meaningful.filter((line) => NOTABLE_LINE.test(line));
  const chosen = notable.length > 0 ? notable : meaningful.slice(-1);
  const distinct: string[] = [];
  for (const line of chosen.map((entry) => shortenPaths(entry.replace(/^#\s*/, "")))) {
    if (!distinct.includes(line)) distinct.push(line);
  }
  const specific = distinct.filter((line) => !V8_HEADER_LINE.test(line));
  return (specific.length > 0 ? specific : distinct).slice(-3);
}

/** How a host ended, for people: its last words, then the signal or exit code. */
export function describeHostExit(exit: HostExit): string {
  const words = pickLastWords(exit.lastLines).join(" / ");
  let how: string;
  if (exit.killedBecause) how = exit.killedBecause;
  else if (exit.signal === "SIGKILL") how = "the model host was killed by SIGKILL (out of memory?)";
  else if (exit.signal) how = `the model host was killed by ${exit.signal}`;
  else how = `the model host exited with code ${exit.code ?? "unknown"}`;
  const reason = words ? `${words} (${how})` : how;
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
}

/** Splits a process's output into lines and keeps the last ones it is given, each bounded in length. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = "";

  constructor(
    private readonly maxLines = 40,
    private readonly maxLineLength = 1000,
  ) {}

  /** Splits a chunk of output; calls `onLine` for each complete line. */
  write(chunk: string, onLine: (line: string) => void): void {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = (parts.pop() ?? "").slice(-this.maxLineLength);
    for (const part of parts) onLine(part.slice(0, this.maxLineLength));
  }

  /** Keeps a line among the last ones. */
  keep(line: string): void {
    this.lines.push(line.slice(0, this.maxLineLength));
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  /** The kept lines, and an unfinished last line (a process killed mid-line). */
  snapshot(): string[] {
    return this.partial ? [...this.lines, this.partial] : [...this.lines];
  }
}
