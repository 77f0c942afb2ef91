/** The endpoints a batch line may call (OpenAI's, of those this server has). */
export const BATCH_ENDPOINTS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

/** Most lines of one batch input file (OpenAI's bound). */
export const MAX_BATCH_LINES = 50_000;

/** One request of a batch input file. */
export interface BatchInputLine {
  custom_id: string;
  method: "POST";
  url: BatchEndpoint;
  /** The request body, validated by the endpoint's own schema when the line runs. */
  body: Record<string, unknown>;
}

/** An input file that is not a valid batch: says which line and why. */
export class BatchInputError extends Error {
  readonly statusCode = 400;
  readonly code = "invalid_batch_input";
  constructor(
    message: string,
    readonly line: number | null,
  ) {
    super(line === null ? message : `Line ${line}: ${message}`);
  }
}

/**
 * Parses and checks a batch input file (JSONL): every non-empty line is
 * `{custom_id, method: "POST", url, body}` with a known url and a custom_id no other line has.
 * The bodies themselves are checked when their lines run (a bad body fails only its line).
 * @throws BatchInputError naming the first bad line (1-based).
 */
export function parseBatchInput(content: string, maxLines = MAX_BATCH_LINES): BatchInputLine[] {
  const lines: BatchInputLine[] = [];
  const customIds = new Set<string>();
  const rawLines = content.split("\n");
  for (let index = 0; index < rawLines.length; index++) {
    const text = rawLines[index]!.trim();
    if (text === "") continue;
    const lineNumber = index + 1;
    if (lines.length >= maxLines) throw new BatchInputError(`A batch has at most ${maxLines} lines`, lineNumber);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new BatchInputError(`not valid JSON (${(error as Error).message})`, lineNumber);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BatchInputError("must be a JSON object", lineNumber);
    const { custom_id: customId, method, url, body } = parsed as Record<string, unknown>;
    if (typeof customId !== "string" || customId === "" || customId.length > 512) throw new BatchInputError("'custom_id' must be a non-empty string (at most 512 characters)", lineNumber);
    if (customIds.has(customId)) throw new BatchInputError(`'custom_id' '${customId}' is used by an earlier line: each must be unique`, lineNumber);
    if (method !== "POST") throw new BatchInputError("'method' must be \"POST\"", lineNumber);
    if (typeof url !== "string" || !(BATCH_ENDPOINTS as readonly string[]).includes(url)) {
      throw new BatchInputError(`'url' must be one of ${BATCH_ENDPOINTS.join(", ")}`, lineNumber);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BatchInputError("'body' must be a JSON object", lineNumber);
    customIds.add(customId);
    lines.push({ custom_id: customId, method, url: url as BatchEndpoint, body: body as Record<string, unknown> });
  }
  if (lines.length === 0) throw new BatchInputError("The file has no requests", null);
  return lines;
}
