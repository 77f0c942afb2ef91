import { pino, type Logger } from "pino";

export type { Logger };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level. Default: env `MARDUK_LOG_LEVEL`, else "info". */
  level?: string;
  /** Where JSON lines go. Default: standard error (standard output stays for the CLI's own messages). */
  destination?: NodeJS.WritableStream;
}

/** A structured JSON logger (pino). Child loggers carry request ids and model ids. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.MARDUK_LOG_LEVEL ?? "info";
  return pino({ level, base: { app: "marduk-local" } }, options.destination ?? pino.destination(2));
}

/** A logger that writes nothing, for tests and embedding. */
export function createSilentLogger(): Logger {
  return pino({ level: "silent" });
}
