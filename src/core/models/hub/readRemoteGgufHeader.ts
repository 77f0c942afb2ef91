/**
 * Reads a remote GGUF file's header (metadata and tensor infos) within hard bounds, through the
 * download URL policy.
 *
 * node-llama-cpp's network reader is not used: it follows redirects itself (so the policy, which
 * keeps plain http off other hosts and the hub token on the hub's origin, would not apply to any
 * hop) and it trusts the counts it reads (an array claiming 2^60 entries or a tensor with 2^31
 * dimensions makes it fetch, loop and allocate for minutes). Here the header's first bytes are
 * fetched with Range requests into a temporary file, the bounds scan of local files
 * (checkGgufHeader.ts) says whether they hold the whole header, and the prefix grows (×4, only
 * the missing range is fetched) until they do, never past {@link DEFAULT_MAX_HEADER_BYTES}. Only
 * then does node-llama-cpp parse the prefix, from the file system.
 */
import { mkdtemp, open, rm, stat, type FileHandle } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { GgufFileInfo } from "node-llama-cpp";
import { AbortedError, MardukError } from "../../errors.js";
import { backoffDelayMs, sleep } from "../downloads/backoff.js";
import { parseContentRange } from "../downloads/contentRange.js";
import type { DownloadUrlPolicy } from "../downloads/downloadUrlPolicy.js";
import { fetchWithRedirectPolicy } from "../downloads/fetchWithRedirectPolicy.js";
import { GGUF_MAGIC, hasGgufMagic, readFileHead } from "../downloads/ggufMagic.js";
import { scanGgufHeader } from "../library/checkGgufHeader.js";
import { HubError, hubErrorForStatus } from "./hubErrors.js";

/**
 * Most bytes read for one header (all parts of a split model together). Real headers are a few
 * MB; those with 256k-token vocabularies 10–20 MB. A header claiming more is refused.
 */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024 ** 2;
/** The first request's size: the whole header of most models. */
export const DEFAULT_INITIAL_HEADER_BYTES = 1024 ** 2;
/** The first request for the later parts of a split model, which hold only their tensor infos. */
const LATER_PART_INITIAL_BYTES = 256 * 1024;
const GROWTH_FACTOR = 4;
/** Real split models have a few dozen parts; each part costs requests, so a name claiming thousands is refused. */
export const MAX_HEADER_PARTS = 512;
/** Attempts at one growth of the prefix that fail for a passing reason (connection lost, HTTP 5xx, 429, 408). */
const MAX_ATTEMPTS = 3;
/** Requests for one part; a server answering in ever smaller pieces is not followed for ever. */
const MAX_REQUESTS_PER_PART = 32;
/**
 * Zeros stand in for the padding between the header and the tensor data when the prefix ends
 * before it (GGUF pads with zeros); an alignment wanting more than this is refused.
 */
const MAX_PADDING_BYTES = 64 * 1024;

/** One file whose header is read: the first, or each part of a split model in order. */
export interface RemoteGgufPart {
  url: string;
  /** How messages name the file, e.g. `owner/repo/model-Q4_K_M.gguf`. */
  name: string;
}

/** Options of {@link readRemoteGgufHeader}. */
export interface ReadRemoteGgufHeaderOptions {
  /** Does each single request (redirects are followed by fetchWithRedirectPolicy). */
  fetch: typeof fetch;
  /** What the URL and every redirect target must satisfy. */
  policy: DownloadUrlPolicy;
  /** Redirects followed per request. Default: 10. */
  maxRedirects?: number;
  /** Headers of every request (the hub token); credential headers never leave the URL's origin. Default: none. */
  headers?: Record<string, string>;
  /** Whether `headers` carry a token (for what a 401/403 message advises). Default: false. */
  hasToken?: boolean;
  /** Most bytes read for the header, all parts together. Default: {@link DEFAULT_MAX_HEADER_BYTES} (64 MiB). */
  maxHeaderBytes?: number;
  /** Bytes asked for first. Default: {@link DEFAULT_INITIAL_HEADER_BYTES} (1 MiB). */
  initialBytes?: number;
  /** A request fails (and is retried) when no byte arrives for this long, in ms. Default: 30000. */
  idleTimeoutMs?: number;
  /** Where the temporary prefix files go (always removed afterwards). Default: os.tmpdir(). */
  tempDir?: string;
  signal?: AbortSignal;
}

/** A failure worth another attempt: the connection, a timeout, or HTTP 5xx, 429, 408. */
class PassingFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The bytes budget shared by the parts of one read. */
interface Budget {
  left: number;
}

/**
 * The first bytes of one remote file, in a local file, grown on demand. A server that honours
 * Range gets one request per growth for the missing range only; one that ignores it (200, the
 * whole file) is read only as far as needed, its answer kept open for the next growth.
 */
class RemotePrefix {
  /** Bytes in the local file. */
  length = 0;
  /** The whole remote file's size, once an answer said it. */
  size: number | undefined;
  private body: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** For a 206 answer: the last byte it covers. Undefined for a whole-file answer. */
  private bodyEnd: number | undefined;
  /** Bytes of a whole-file answer still to drop (the local file already has them). */
  private skip = 0;
  /** Bytes read past the wanted length from a whole-file answer, kept for the next growth. */
  private pending: Uint8Array | undefined;
  private requestAbort: AbortController | undefined;
  private requests = 0;

  private constructor(
    private readonly part: RemoteGgufPart,
    private readonly file: FileHandle,
    private readonly options: ReadRemoteGgufHeaderOptions,
    private readonly budget: Budget,
  ) {}

  static async create(part: RemoteGgufPart, filePath: string, options: ReadRemoteGgufHeaderOptions, budget: Budget): Promise<RemotePrefix> {
    return new RemotePrefix(part, await open(filePath, "w"), options, budget);
  }

  /** Fetches until the local file has `target` bytes (fewer when the remote file is shorter). */
  async growTo(target: number): Promise<void> {
    let failures = 0;
    while (this.length < target && (this.size === undefined || this.length < this.size)) {
      try {
        if (!this.body && !this.pending) await this.request(target);
        if (this.size !== undefined && this.length >= this.size) break;
        await this.readInto(target);
      } catch (error) {
        await this.dropBody();
        if (!(error instanceof PassingFailure)) throw error;
        if (++failures >= MAX_ATTEMPTS) {
          if (error.status !== undefined) throw hubErrorForStatus(error.status, this.part.name, this.options.hasToken ?? false);
          throw new HubError("network", `Could not read the GGUF header of ${this.part.name}: ${error.message}`, { cause: error.cause ?? error });
        }
        await sleep(backoffDelayMs(failures, 250, 2000), this.options.signal);
      }
    }
  }

  async close(): Promise<void> {
    await this.dropBody();
    await this.file.close();
  }

  private async dropBody(): Promise<void> {
    const body = this.body;
    this.body = undefined;
    this.pending = undefined;
    this.requestAbort?.abort();
    this.requestAbort = undefined;
    await body?.cancel().catch(() => undefined);
  }

  private setSize(size: number): void {
    if (this.size !== undefined && this.size !== size) {
      throw new HubError("network", `${this.part.name} changed while its GGUF header was read (${this.size} bytes, then ${size}); try again`);
    }
    this.size = size;
  }

  /** Runs `work` with the idle timer armed: no progress for idleTimeoutMs aborts the request. */
  private async withIdleTimer<T>(work: () => Promise<T>): Promise<T> {
    const timeoutMs = this.options.idleTimeoutMs ?? 30_000;
    const abort = this.requestAbort;
    const timer = setTimeout(() => abort?.abort(new PassingFailure(`no data for ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    try {
      return await work();
    } catch (error) {
      if (this.options.signal?.aborted) throw new AbortedError();
      if (abort?.signal.aborted && abort.signal.reason instanceof PassingFailure) throw abort.signal.reason;
      if (error instanceof MardukError || error instanceof PassingFailure) throw error;
      // fetch's own failures (a refused or dropped connection) say why in their cause.
      const cause = (error as Error).cause;
      const why = cause instanceof Error ? `${(error as Error).message} (${cause.message})` : (error as Error).message;
      throw new PassingFailure(why, undefined, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** One request for bytes [length, target), answered with 206, 200 (Range ignored) or 416. */
  private async request(target: number): Promise<void> {
    if (++this.requests > MAX_REQUESTS_PER_PART) {
      throw new HubError("network", `The server of ${this.part.name} did not send its GGUF header in ${MAX_REQUESTS_PER_PART} requests`);
    }
    this.requestAbort = new AbortController();
    const signals = [this.requestAbort.signal, ...(this.options.signal ? [this.options.signal] : [])];
    const { response } = await this.withIdleTimer(() =>
      fetchWithRedirectPolicy(
        this.part.url,
        {
          headers: { ...this.options.headers, "accept-encoding": "identity", range: `bytes=${this.length}-${target - 1}` },
          signal: AbortSignal.any(signals),
        },
        { fetch: this.options.fetch, policy: this.options.policy, maxRedirects: this.options.maxRedirects },
      ),
    );
    const range = parseContentRange(response.headers.get("content-range"));
    if (response.status === 416) {
      await response.body?.cancel().catch(() => undefined);
      // Nothing at or past `length`: the file ends there (or where the answer says).
      this.setSize(range?.total ?? this.length);
      if (this.size! > this.length) throw new HubError("network", `The server of ${this.part.name} refused a byte range inside the file (HTTP 416)`, { status: 416 });
      return;
    }
    if (response.status === 206 && response.body) {
      if (range?.start !== this.length || range.end === undefined || range.end < range.start) {
        await response.body.cancel().catch(() => undefined);
        throw new HubError("network", `The server of ${this.part.name} answered another byte range than the one asked for`);
      }
      if (range.total !== undefined) this.setSize(range.total);
      // A range ending before the one asked for ends at the end of the file.
      else if (range.end < target - 1) this.setSize(range.end + 1);
      this.body = response.body.getReader();
      this.bodyEnd = range.end;
      this.skip = 0;
      return;
    }
    if (response.status === 200 && response.body) {
      const length = response.headers.get("content-length");
      if (length !== null && /^\d+$/.test(length)) this.setSize(Number(length));
      this.body = response.body.getReader();
      this.bodyEnd = undefined;
      this.skip = this.length;
      return;
    }
    await response.body?.cancel().catch(() => undefined);
    const status = response.status;
    if (status === 408 || status === 429 || status >= 500) throw new PassingFailure(`HTTP ${status}`, status);
    throw hubErrorForStatus(status, this.part.name, this.options.hasToken ?? false);
  }

  /** Appends what the open answer has, up to `target` bytes in all. */
  private async readInto(target: number): Promise<void> {
    while (this.length < target) {
      let chunk = this.pending;
      this.pending = undefined;
      if (!chunk) {
        if (!this.body) return;
        const body = this.body;
        const { done, value } = await this.withIdleTimer(() => body.read());
        if (done) {
          this.body = undefined;
          // A whole-file answer ends where the file does (before bytes still to drop, if any).
          if (this.bodyEnd === undefined) this.setSize(this.length - this.skip);
          else if (this.length <= this.bodyEnd) throw new PassingFailure(`the connection closed at byte ${this.length} of the ${this.bodyEnd + 1} asked for`);
          return;
        }
        chunk = value;
      }
      if (this.skip > 0) {
        const dropped = Math.min(this.skip, chunk.length);
        this.skip -= dropped;
        chunk = chunk.subarray(dropped);
        if (chunk.length === 0) continue;
      }
      // `target` never exceeds the budget (fetchHeaderPrefix caps it), so this stays within it.
      const wanted = Math.min(chunk.length, target - this.length);
      await this.file.write(chunk, 0, wanted, this.length);
      this.length += wanted;
      this.budget.left -= wanted;
      // The rest waits for the next growth, the answer kept open (nothing is read ahead of need).
      if (wanted < chunk.length) this.pending = chunk.subarray(wanted);
    }
    // A range answer read to its end: its connection can go.
    if (this.bodyEnd !== undefined && this.length > this.bodyEnd && !this.pending) await this.dropBody();
  }
}

/** Fetches the first bytes of `part` into `filePath` until they hold its whole header (by the bounds scan). */
async function fetchHeaderPrefix(part: RemoteGgufPart, filePath: string, initialBytes: number, budget: Budget, options: ReadRemoteGgufHeaderOptions): Promise<void> {
  const maxBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const tooLarge = (minBytes: number): HubError =>
    new HubError(
      "too_large",
      `The GGUF header of ${part.name} needs more than the ${maxBytes} bytes read at most of a remote header (at least ${minBytes} bytes for this file); refused`,
    );
  if (budget.left < GGUF_MAGIC.length) throw tooLarge(GGUF_MAGIC.length);
  const prefix = await RemotePrefix.create(part, filePath, options, budget);
  try {
    let target = Math.min(Math.max(initialBytes, GGUF_MAGIC.length), prefix.length + budget.left);
    for (let first = true; ; first = false) {
      await prefix.growTo(target);
      if (first) {
        const head = await readFileHead(filePath);
        if (!hasGgufMagic(head)) {
          const why = head.length < GGUF_MAGIC.length ? `it has only ${head.length} byte${head.length === 1 ? "" : "s"}` : `it starts with ${GGUF_MAGIC.length} unexpected bytes`;
          throw new HubError("no_match", `${part.name} is not a GGUF file (${why})`);
        }
      }
      const scan = await scanGgufHeader(filePath, { declaredSize: prefix.size ?? Number.MAX_SAFE_INTEGER });
      if (scan.kind === "complete") return;
      if (scan.kind === "invalid") throw new HubError("no_match", `The GGUF header of ${part.name} cannot be used: ${scan.reason}`);
      const allowed = prefix.length + budget.left;
      if (scan.minBytes > allowed) throw tooLarge(scan.minBytes);
      if (prefix.length < target) throw new HubError("network", `The server of ${part.name} sent fewer bytes than its header needs`);
      target = Math.min(Math.max(scan.minBytes, prefix.length * GROWTH_FACTOR), allowed);
    }
  } finally {
    await prefix.close();
  }
}

/** The first `length` bytes of a file, zeros past its end (the padding before the tensor data). */
async function readPadded(filePath: string, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const handle = await open(filePath, "r");
  try {
    await handle.read(buffer, 0, Math.min(length, (await handle.stat()).size), 0);
    return buffer;
  } finally {
    await handle.close();
  }
}

/**
 * The header of a remote GGUF file, or of every part of a split model (`parts` in order, the
 * first holding the metadata), as node-llama-cpp's `readGgufFileInfo` gives it for a URL:
 * `source` is the first part's URL and `sourceData` holds the header bytes (so fit estimates
 * need nothing more). At most `maxHeaderBytes` are read in all; every request goes through
 * fetchWithRedirectPolicy. The temporary files are removed whatever happens.
 * @throws HubError (a status, "not a GGUF file", an untrustworthy or too large header, a network
 * failure after retries), DownloadError from the URL policy, AbortedError
 */
export async function readRemoteGgufHeader(parts: readonly RemoteGgufPart[], options: ReadRemoteGgufHeaderOptions): Promise<GgufFileInfo> {
  if (parts.length === 0 || parts.length > MAX_HEADER_PARTS) {
    throw new HubError("no_match", `A split GGUF model of ${parts.length} parts is not read (at most ${MAX_HEADER_PARTS})`);
  }
  const maxBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const budget: Budget = { left: maxBytes };
  const dir = await mkdtemp(path.join(options.tempDir ?? os.tmpdir(), "marduk-gguf-header-"));
  try {
    // Split parts carry node-llama-cpp's part names, so it splices them as it would the real files.
    const count = String(parts.length).padStart(5, "0");
    const files = parts.map((_, index) => path.join(dir, parts.length === 1 ? "header.gguf" : `header-${String(index + 1).padStart(5, "0")}-of-${count}.gguf`));
    for (const [index, part] of parts.entries()) {
      const initial = index === 0 ? (options.initialBytes ?? DEFAULT_INITIAL_HEADER_BYTES) : Math.min(options.initialBytes ?? DEFAULT_INITIAL_HEADER_BYTES, LATER_PART_INITIAL_BYTES);
      await fetchHeaderPrefix(part, files[index]!, initial, budget, options);
    }
    const { readGgufFileInfo } = await import("node-llama-cpp");
    let info: GgufFileInfo;
    try {
      info = await readGgufFileInfo(files[0]!, { sourceType: "filesystem", spliceSplitFiles: parts.length > 1, logWarnings: false, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new HubError("no_match", `The GGUF header of ${parts[0]!.name} could not be parsed: ${(error as Error).message}`, { cause: error });
    }
    // The prefix files go away: keep their header bytes (up to the aligned start of the tensor
    // data, as node-llama-cpp's network reader does) for the simulation of fit estimates.
    const sourceData = await Promise.all(
      info.sourceData.map(async (entry) => {
        if (entry.type !== "path") return entry;
        if (entry.length > maxBytes || entry.length - (await stat(entry.path)).size > MAX_PADDING_BYTES) {
          throw new HubError("no_match", `The GGUF header of ${parts[0]!.name} cannot be used: its alignment puts the tensor data at byte ${entry.length}`);
        }
        return { type: "buffer" as const, buffer: await readPadded(entry.path, entry.length) };
      }),
    );
    return { ...info, source: { type: "uri", uri: parts[0]!.url }, sourceData };
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError();
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
