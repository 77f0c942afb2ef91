import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rm, stat } from "node:fs/promises";
import { AbortedError } from "../../errors.js";
import { DownloadError } from "./downloadErrors.js";
import type { DownloadUrlPolicy } from "./downloadUrlPolicy.js";
import { fetchWithRedirectPolicy } from "./fetchWithRedirectPolicy.js";
import { GGUF_MAGIC, hasGgufMagic, notGgufError } from "./ggufMagic.js";
import { parseContentRange } from "./contentRange.js";

/** One file to fetch: where from, where to, and what it must be. */
export interface DownloadPart {
  /** Where the bytes come from (a hub resolve URL or any https URL). */
  url: string;
  /** Headers of every request (the hub token, for the hub's origin only). */
  headers: Record<string, string>;
  /** Where the verified file goes. */
  finalPath: string;
  /** `<final>.partial`: the bytes so far. */
  partialPath: string;
  /** Expected size; learned from the response when the source did not say. */
  expectedSize?: number;
  /** Expected SHA-256, hex (the hub's LFS oid); undefined for plain URLs. */
  sha256?: string;
  /**
   * For URLs without a sha256: the strong ETag of the first response. A resume sends it as
   * If-Range, so a file that changed on the server is fetched whole instead of spliced.
   */
  validator?: string;
  /**
   * The bytes must start with the GGUF magic: true for the first file of a model (the later parts
   * of a split model are byte slices, checked by their sha256 only). Default: false.
   */
  checkGgufMagic?: boolean;
}

/** A SHA-256 over the first `bytes` bytes of the partial file, carried across attempts. */
export interface PartHasher {
  hash: Hash;
  bytes: number;
}

/** Options of {@link fetchPartOnce}. */
export interface FetchPartOptions {
  fetch: typeof fetch;
  /** What the URL and every redirect target must satisfy (see fetchWithRedirectPolicy). */
  urlPolicy: DownloadUrlPolicy;
  /** Redirects followed before the attempt fails. Default: 10. */
  maxRedirects?: number;
  signal: AbortSignal;
  /** An attempt fails (and is retried) when no byte arrives for this long. */
  stallTimeoutMs: number;
  hasher: PartHasher;
  /** Called after each chunk is on disk, and after a restart from 0. */
  onProgress: () => void;
  /** Called with a URL download's strong ETag the first time one is seen (to record it). */
  onValidator?: (etag: string) => Promise<void>;
}

export function newHasher(): PartHasher {
  return { hash: createHash("sha256"), bytes: 0 };
}

async function fileSize(filePath: string): Promise<number> {
  try {
    return (await stat(filePath)).size;
  } catch {
    return 0;
  }
}

/** Makes the hasher cover exactly the first `size` bytes of the file (re-reading it if needed). */
export async function syncHasher(hasher: PartHasher, filePath: string, size: number, signal?: AbortSignal): Promise<void> {
  if (hasher.bytes === size) return;
  hasher.hash = createHash("sha256");
  hasher.bytes = 0;
  if (size === 0) return;
  const stream = createReadStream(filePath, { start: 0, end: size - 1, signal });
  for await (const chunk of stream) {
    hasher.hash.update(chunk as Buffer);
    hasher.bytes += (chunk as Buffer).length;
  }
}

async function resetPartial(part: DownloadPart, hasher: PartHasher): Promise<void> {
  await rm(part.partialPath, { force: true });
  hasher.hash = createHash("sha256");
  hasher.bytes = 0;
}

function statusError(status: number, url: string): DownloadError {
  const where = new URL(url).host;
  if (status === 401 || status === 403) {
    return new DownloadError("unauthorized", `${where} refused the download (HTTP ${status}): the model is gated or private; set HF_TOKEN to an access token with access to it`, { status });
  }
  if (status === 404 || status === 410) return new DownloadError("not_found", `${url} was not found (HTTP ${status})`, { status });
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  return new DownloadError("http_error", `${where} answered HTTP ${status}`, { status, retryable });
}

/**
 * One attempt at bringing the partial file to its full size: continues from the partial's
 * current size with an HTTP Range request, appends, and keeps the hash up to date.
 * Resolves when the partial holds every byte; throws DownloadError (retryable or not),
 * or AbortedError when `signal` aborts. Never touches the final path.
 */
export async function fetchPartOnce(part: DownloadPart, options: FetchPartOptions): Promise<void> {
  const { hasher, signal } = options;
  let offset = await fileSize(part.partialPath);
  if (part.expectedSize !== undefined && offset > part.expectedSize) {
    await resetPartial(part, hasher);
    offset = 0;
  }
  await syncHasher(hasher, part.partialPath, offset, signal);
  if (part.expectedSize !== undefined && offset === part.expectedSize) return;

  const stall = new AbortController();
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(
      () => stall.abort(new DownloadError("stalled", `No data for ${Math.round(options.stallTimeoutMs / 1000)} s`, { retryable: true })),
      options.stallTimeoutMs,
    );
  };
  const requestSignal = AbortSignal.any([signal, stall.signal]);
  const failure = (error: unknown): Error => {
    if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new AbortedError();
    if (stall.signal.aborted) return stall.signal.reason as DownloadError;
    if (error instanceof DownloadError) return error;
    return new DownloadError("network", `Connection failed: ${(error as Error).message}`, { retryable: true, cause: error });
  };

  armStall();
  try {
    let response: Response;
    try {
      ({ response } = await fetchWithRedirectPolicy(
        part.url,
        {
          headers: {
            ...part.headers,
            "accept-encoding": "identity",
            ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
            ...(offset > 0 && part.validator ? { "if-range": part.validator } : {}),
          },
          signal: requestSignal,
        },
        { fetch: options.fetch, policy: options.urlPolicy, maxRedirects: options.maxRedirects },
      ));
    } catch (error) {
      throw failure(error);
    }
    if (response.status === 416) {
      await response.body?.cancel().catch(() => undefined);
      // The partial is not a prefix of what the server has now: start over.
      await resetPartial(part, hasher);
      options.onProgress();
      throw new DownloadError("http_error", "The server refused to resume (HTTP 416); restarting from the beginning", { status: 416, retryable: true });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw statusError(response.status, part.url);
    }

    let append = offset > 0;
    let total: number | undefined;
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get("content-range"));
      if (!range || range.start !== offset) {
        await response.body.cancel().catch(() => undefined);
        await resetPartial(part, hasher);
        options.onProgress();
        throw new DownloadError("http_error", "The server answered a different byte range than asked; restarting", { retryable: true });
      }
      total = range.total;
    } else {
      // 200: the whole file (the server ignored the Range header, or none was sent).
      if (append) {
        await resetPartial(part, hasher);
        options.onProgress();
      }
      append = false;
      offset = 0;
      const length = response.headers.get("content-length");
      total = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    }
    if (total !== undefined && part.expectedSize !== undefined && total !== part.expectedSize) {
      await response.body.cancel().catch(() => undefined);
      throw new DownloadError(
        "size_mismatch",
        part.sha256 !== undefined
          ? `The server has ${total} bytes for ${part.url} but the hub lists ${part.expectedSize}; the repository may have changed, try again`
          : `The server now has ${total} bytes for ${part.url} instead of ${part.expectedSize}; the file changed, try again`,
      );
    }
    part.expectedSize ??= total;
    const etag = response.headers.get("etag");
    if (part.sha256 === undefined && etag && !etag.startsWith("W/") && etag !== part.validator) {
      part.validator = etag;
      await options.onValidator?.(etag);
    }

    const handle = await open(part.partialPath, append ? "a" : "w");
    let written = offset;
    // The first bytes of a file written from the start, until there are enough to check the magic.
    let head: Buffer | undefined = part.checkGgufMagic && !append ? Buffer.alloc(0) : undefined;
    const source = new URL(part.url).host;
    try {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          armStall();
          if (head !== undefined) {
            head = Buffer.concat([head, value.subarray(0, GGUF_MAGIC.length - head.length)]);
            if (head.length === GGUF_MAGIC.length) {
              if (!hasGgufMagic(head)) throw notGgufError(source, head);
              head = undefined;
            }
          }
          if (part.expectedSize !== undefined && written + value.length > part.expectedSize) {
            throw new DownloadError("size_mismatch", `The server sent more than the expected ${part.expectedSize} bytes`);
          }
          await handle.write(value);
          written += value.length;
          hasher.hash.update(value);
          hasher.bytes += value.length;
          options.onProgress();
        }
        // A whole answer shorter than the magic (a cut one is retried, and checked when verified).
        if (head !== undefined && (part.expectedSize === undefined || written >= part.expectedSize)) throw notGgufError(source, head);
      } catch (error) {
        await reader.cancel().catch(() => undefined);
        throw error;
      } finally {
        reader.releaseLock();
      }
      await handle.sync();
    } catch (error) {
      throw failure(error);
    } finally {
      await handle.close();
    }
    if (part.expectedSize !== undefined && written < part.expectedSize) {
      throw new DownloadError("network", `The connection closed at ${written} of ${part.expectedSize} bytes`, { retryable: true });
    }
    part.expectedSize ??= written;
  } finally {
    clearTimeout(stallTimer);
  }
}
