/** Reading a repository's model card (README.md) within bounds. */

/**
 * Removes a leading YAML front matter block (`---` … `---` or `...`), the hub's card metadata
 * (license, tags, widget settings), which is not meant to be read as Markdown.
 */
export function stripFrontMatter(markdown: string): string {
  const text = markdown.replace(/^\uFEFF/, "");
  const match = /^---[ \t]*\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  return (match ? text.slice(match[0].length) : text).replace(/^\s*\n/, "");
}

/**
 * A response body as UTF-8 text, at most `maxBytes` of it: the rest is not read (the stream is
 * cancelled), so a huge or endless README costs at most the bound.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: "", truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      if (value.byteLength > room) {
        chunks.push(value.subarray(0, room));
        size += room;
        truncated = true;
        break;
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  // A cut may split a multi-byte character: the decoder replaces it rather than failing.
  return { text: new TextDecoder("utf-8").decode(Buffer.concat(chunks)), truncated };
}
