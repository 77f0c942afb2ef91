import { open } from "node:fs/promises";
import { DownloadError } from "./downloadErrors.js";

/** The four bytes every GGUF file (and the first part of a split one) starts with. */
export const GGUF_MAGIC = Buffer.from("GGUF", "latin1");

/** True when `head` holds at least the magic's length and starts with it. */
export function hasGgufMagic(head: Uint8Array): boolean {
  return head.length >= GGUF_MAGIC.length && GGUF_MAGIC.equals(Buffer.from(head.buffer, head.byteOffset, GGUF_MAGIC.length));
}

/**
 * The error for an answer that is not a GGUF file. It says how many bytes were wrong, never which:
 * the answer may come from any server a URL or a redirect pointed at, and its bytes must not reach
 * whoever reads the error.
 */
export function notGgufError(source: string, head: Uint8Array): DownloadError {
  const why = head.length < GGUF_MAGIC.length ? `it has only ${head.length} byte${head.length === 1 ? "" : "s"}` : `it starts with ${GGUF_MAGIC.length} unexpected bytes`;
  return new DownloadError("not_gguf", `The answer from ${source} is not a GGUF file (${why}); nothing of it was kept`);
}

/** The first bytes of a file (as many as the magic has, fewer when the file is shorter). */
export async function readFileHead(filePath: string): Promise<Buffer> {
  const handle = await open(filePath, "r");
  try {
    const head = Buffer.alloc(GGUF_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
