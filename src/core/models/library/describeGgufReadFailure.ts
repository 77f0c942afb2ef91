/**
 * Why a file could not be read as GGUF, without quoting its bytes (a file that is not GGUF
 * might be anything: its first bytes are no one's business).
 */
export function describeGgufReadFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/magic/i.test(message)) return "not a valid GGUF file (it does not start with the GGUF magic bytes)";
  return `not a valid GGUF file (${message.replace(/"[^"]*"|'[^']*'/g, "…").slice(0, 200)})`;
}
