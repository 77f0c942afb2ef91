/** What a `Content-Range` header says: the range sent (absent in a 416's star form) and the total size, when known. */
export interface ContentRange {
  start?: number;
  end?: number;
  total?: number;
}

/** Parses `Content-Range: bytes 100-199/1000` (or `/*` for an unknown total), and a 416's `bytes *\/1000`. */
export function parseContentRange(header: string | null): ContentRange | undefined {
  const match = header ? /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!match) return undefined;
  return {
    ...(match[1] !== undefined ? { start: Number(match[1]), end: Number(match[2]) } : {}),
    ...(match[3] !== "*" ? { total: Number(match[3]) } : {}),
  };
}
