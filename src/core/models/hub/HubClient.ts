import path from "node:path";
import type * as HubLibraryModule from "@huggingface/hub";
import type { GgufFileInfo, Llama } from "node-llama-cpp";
import type {
  HubFile,
  HubModel,
  HubModelCard,
  HubModelFile,
  HubRepoFiles,
  HubSearchQuery,
  MachineResources,
  RemoteFitEstimate,
} from "../../../shared/api/hub.js";
import { defaultDataDir } from "../../appPaths.js";
import { AbortedError, InvalidArgumentError, MardukError } from "../../errors.js";
import { DownloadError } from "../downloads/downloadErrors.js";
import { downloadUrlPolicyFor, type DownloadUrlPolicy } from "../downloads/downloadUrlPolicy.js";
import { fetchWithRedirectPolicy } from "../downloads/fetchWithRedirectPolicy.js";
import type { HfModelRef } from "../modelRef.js";
import { estimateResourceNeeds, fitVerdict } from "./fitEstimate.js";
import { summarizeGgufInfo } from "./ggufSummary.js";
import { HubError, hubErrorForStatus } from "./hubErrors.js";
import { FileHubTokenVault, HUB_TOKEN_FILE, HubTokenStore } from "./HubTokenStore.js";
import { probeMachineResources } from "./machineResources.js";
import { readBoundedText, stripFrontMatter } from "./modelCard.js";
import { MAX_HEADER_PARTS, readRemoteGgufHeader } from "./readRemoteGgufHeader.js";
import { DEFAULT_PREFERRED_QUANT, pickQuantization } from "./pickQuantization.js";
import { groupByQuantization, groupGgufModels, parseSplitPart, quantRank } from "./quantization.js";

export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** The hub's base URL. Default: env `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /**
   * Access token for gated and private repositories, or a function asked on every request (a
   * token entered in the app changes while the client runs: HubTokenStore.token). Default: none.
   */
  token?: string | (() => string | undefined);
  /** Longest one API call may take, in ms. Default: 30000. */
  requestTimeoutMs?: number;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * The llama.cpp runtime fit estimates simulate with (so GPU needs are exact). Default: none,
   * which uses node-llama-cpp's slim runtime without a backend.
   */
  llama?: () => Promise<Llama | undefined>;
}

/** Options of {@link HubClient.resolveModel}. */
export interface ResolveModelOptions {
  /** For refs without file or quantization: the machine to pick a quantization for. Default: probed (RAM only). */
  machine?: MachineResources;
  /** For refs without file or quantization: the best quantization worth picking. Default: "Q4_K_M". */
  preferredQuant?: string;
  signal?: AbortSignal;
}

/** A hub model resolved to files, pinned to a commit when the hub says which. */
export interface ResolvedHubModel {
  repo: string;
  /** The commit (or, when the hub did not say, the revision asked for). */
  revision: string;
  model: HubModelFile;
}

/** Options of {@link HubClient.estimateFit}. */
export interface EstimateFitOptions {
  revision?: string;
  /** Context size per sequence. Default: the model's training context, at most 4096. */
  contextSize?: number;
  /** Parallel sequences. Default: 1. */
  sequences?: number;
  /** This machine's memory. Default: probed (with the `llama` runtime of the options, if any). */
  machine?: MachineResources;
  /** Share of free memory kept in reserve. Default: 0.1. */
  headroomFraction?: number;
  signal?: AbortSignal;
}

/** Options of {@link HubClient.modelCard}. */
export interface ModelCardOptions {
  /** Default: "main". */
  revision?: string;
  /** Most bytes of the README read; the rest is cut. Default: 512 KiB. */
  maxBytes?: number;
  /** Longest the whole read may take, in ms. Default: 15000. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of {@link HubClient.readGgufHeader}. */
export interface ReadGgufHeaderOptions {
  /** Default: "main". */
  revision?: string;
  /** Most bytes read for the header (all parts together). Default: 64 MiB (DEFAULT_MAX_HEADER_BYTES). */
  maxHeaderBytes?: number;
  /** Where the header's bytes are kept while they are parsed (removed afterwards). Default: os.tmpdir(). */
  tempDir?: string;
  signal?: AbortSignal;
}

export const DEFAULT_MODEL_CARD_MAX_BYTES = 512 * 1024;
export const DEFAULT_MODEL_CARD_TIMEOUT_MS = 15_000;

const SORTS = { downloads: "downloads", likes: "likes", updated: "lastModified" } as const;
const COMMIT_PATTERN = /^[0-9a-f]{40}$/;

type HubLibrary = typeof HubLibraryModule;
let hubLibrary: Promise<HubLibrary> | undefined;
/** @huggingface/hub takes ~150 ms to import: loaded on the first hub call, not at start-up. */
function loadHubLibrary(): Promise<HubLibrary> {
  hubLibrary ??= import("@huggingface/hub");
  return hubLibrary;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * The Hugging Face hub, or any mirror `HF_ENDPOINT` names: search GGUF repositories, list a
 * repository's GGUF files by quantization, and read a remote GGUF header to estimate fit before
 * downloading. API calls go through `@huggingface/hub` with our own fetch, which adds the token
 * (the library only accepts tokens starting with `hf_`), a timeout and cancellation.
 */
export class HubClient {
  readonly endpoint: string;
  private readonly tokenSource: () => string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly requestTimeoutMs: number;
  /** API calls follow redirects like downloads do: checked per hop, the token only on the hub's origin. */
  private readonly urlPolicy: DownloadUrlPolicy;
  private readonly disposeController = new AbortController();

  constructor(private readonly options: HubClientOptions = {}) {
    const endpoint = trimSlash(options.endpoint ?? DEFAULT_HUB_ENDPOINT);
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw new InvalidArgumentError(`The hub endpoint '${endpoint}' is not a URL`, "HF_ENDPOINT");
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new InvalidArgumentError(`The hub endpoint '${endpoint}' must be an http(s) URL`, "HF_ENDPOINT");
    }
    this.endpoint = endpoint;
    const token = options.token;
    this.tokenSource = typeof token === "function" ? () => token() || undefined : () => token || undefined;
    this.fetchImpl = options.fetch ?? globalThis.fetch;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.urlPolicy = downloadUrlPolicyFor(endpoint);
  }

  /**
   * A client configured like huggingface_hub: `HF_ENDPOINT` and `HF_TOKEN` (or
   * `HUGGING_FACE_HUB_TOKEN`), else the token `serve`'s UI stored in `<dataDir>/hf-token`
   * (the CLI commands share the data folder; `dataDir` default: env `MARDUK_DATA_DIR`, else the OS data folder).
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: Omit<HubClientOptions, "endpoint" | "token"> & { dataDir?: string } = {}): HubClient {
    const { dataDir, ...clientOptions } = options;
    const tokens = new HubTokenStore({
      vault: new FileHubTokenVault(path.join(dataDir ?? (env.MARDUK_DATA_DIR || defaultDataDir(env)), HUB_TOKEN_FILE)),
      envToken: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
    });
    return new HubClient({ ...clientOptions, endpoint: env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT, token: () => tokens.token() });
  }

  get hasToken(): boolean {
    return this.tokenSource() !== undefined;
  }

  /**
   * Headers that authenticate a request to `url` (default: the hub). The token is only ever sent
   * to the hub's own origin, never to other hosts a URL download may point at.
   */
  authHeaders(url?: string | URL): Record<string, string> {
    const token = this.tokenSource();
    if (!token) return {};
    if (url !== undefined && new URL(url).origin !== new URL(this.endpoint).origin) return {};
    return { authorization: `Bearer ${token}` };
  }

  /** The download URL of a file: `<endpoint>/<repo>/resolve/<revision>/<path>`. */
  fileUrl(repo: string, revision: string, filePath: string): string {
    const encodedPath = filePath.split("/").map(encodeURIComponent).join("/");
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  }

  /** Searches GGUF repositories, most downloaded (or liked, or recently updated) first. */
  async search(query: HubSearchQuery = {}, signal?: AbortSignal): Promise<HubModel[]> {
    const limit = Math.min(100, Math.max(1, Math.floor(query.limit ?? 20)));
    const results: HubModel[] = [];
    await this.call("the model search", async (fetchImpl, { listModels }) => {
      for await (const entry of listModels({
        search: { query: query.search || undefined, owner: query.author || undefined, tags: ["gguf"] },
        sort: SORTS[query.sort ?? "downloads"],
        limit,
        hubUrl: this.endpoint,
        fetch: fetchImpl,
      })) {
        results.push({
          repo: entry.name,
          author: entry.name.split("/")[0] ?? "",
          downloads: entry.downloads ?? 0,
          likes: entry.likes ?? 0,
          updatedAt: Number.isNaN(entry.updatedAt.getTime()) ? new Date(0).toISOString() : entry.updatedAt.toISOString(),
          gated: entry.gated ?? false,
          private: entry.private ?? false,
          ...(entry.task ? { task: entry.task } : {}),
        });
      }
    }, signal);
    return results;
  }

  /** The commit a revision points to; undefined when the hub does not say. */
  async resolveCommit(repo: string, revision = "main", signal?: AbortSignal): Promise<string | undefined> {
    if (COMMIT_PATTERN.test(revision)) return revision;
    const info = await this.call(`${repo}@${revision}`, (fetchImpl, { modelInfo }) =>
      modelInfo({ name: repo, revision, additionalFields: ["sha"], hubUrl: this.endpoint, fetch: fetchImpl }),
    signal);
    return typeof info.sha === "string" && COMMIT_PATTERN.test(info.sha) ? info.sha : undefined;
  }

  /**
   * A repository's GGUF models (split parts joined), grouped by quantization, with sizes and
   * sha256 from the repository tree.
   */
  async listGgufFiles(repo: string, options: { revision?: string; signal?: AbortSignal } = {}): Promise<HubRepoFiles & { models: HubModelFile[] }> {
    const revision = options.revision ?? "main";
    const commit = await this.resolveCommit(repo, revision, options.signal);
    const files: HubFile[] = [];
    await this.call(repo, async (fetchImpl, { listFiles }) => {
      for await (const entry of listFiles({ repo, revision: commit ?? revision, recursive: true, hubUrl: this.endpoint, fetch: fetchImpl })) {
        if (entry.type !== "file") continue;
        files.push({
          path: entry.path,
          sizeBytes: entry.lfs?.size ?? entry.size,
          ...(entry.lfs?.oid && /^[0-9a-f]{64}$/.test(entry.lfs.oid) ? { sha256: entry.lfs.oid } : {}),
        });
      }
    }, options.signal);
    const models = groupGgufModels(files);
    return {
      repo,
      revision,
      ...(commit ? { commit } : {}),
      groups: groupByQuantization(models),
      projectors: models.filter((model) => model.projector),
      models,
    };
  }

  /**
   * The files an hf ref names: a file (any part of a split model selects all parts), the file
   * of a quantization, or, for a bare repository, the best quantization that fits the machine.
   * @throws HubError ("no_match" with the available choices, "too_large", or a hub failure)
   */
  async resolveModel(ref: HfModelRef, options: ResolveModelOptions = {}): Promise<ResolvedHubModel> {
    const listing = await this.listGgufFiles(ref.repo, { revision: ref.revision, signal: options.signal });
    const revision = listing.commit ?? listing.revision;
    const candidates = listing.models.filter((model) => !model.projector);
    const base = { repo: ref.repo, revision };
    if (ref.file) {
      const wanted = ref.file;
      const wantedBase = parseSplitPart(wanted)?.basePath ?? wanted;
      const model = listing.models.find(
        (entry) => entry.parts.some((part) => part.path === wanted) || modelBasePath(entry) === wantedBase,
      );
      if (!model) {
        throw new HubError("no_match", `${ref.repo} has no file ${wanted}. GGUF files: ${describeChoices(candidates)}`);
      }
      return { ...base, model: requireComplete(model) };
    }
    if (ref.quant) {
      const matches = candidates.filter((model) => model.quant === ref.quant);
      if (matches.length === 0) {
        const quants = listing.groups.map((group) => group.quant).join(", ") || "none";
        throw new HubError("no_match", `${ref.repo} has no ${ref.quant} file. Quantizations: ${quants}`);
      }
      const complete = matches.filter((model) => model.complete);
      if (complete.length > 1) {
        throw new HubError(
          "no_match",
          `${ref.repo} has several ${ref.quant} files; name one with hf:${ref.repo}/<file>: ${describeChoices(complete)}`,
        );
      }
      return { ...base, model: requireComplete(complete[0] ?? matches[0]!) };
    }
    const machine = options.machine ?? (await probeMachineResources());
    const preferred = options.preferredQuant ?? DEFAULT_PREFERRED_QUANT;
    const model = pickQuantization(candidates, machine, { preferred });
    if (!model) {
      if (candidates.length === 0) throw new HubError("no_match", `${ref.repo} has no GGUF model files`);
      const smallest = [...candidates].sort((a, b) => a.sizeBytes - b.sizeBytes)[0]!;
      throw new HubError(
        "too_large",
        `No quantization of ${ref.repo} fits this machine's free memory (${formatGiB(machine.ramFreeBytes)} RAM free; ` +
          `the smallest file, ${smallest.name}, is ${formatGiB(smallest.sizeBytes)}).`,
      );
    }
    return { ...base, model };
  }

  /**
   * Reads a remote GGUF file's header (metadata and tensor infos; of every part, for a part of a
   * split model) with HTTP Range requests through the download URL policy, within hard bounds
   * (see readRemoteGgufHeader.ts): at most 64 MiB are read, a crafted header is refused.
   * @throws HubError (statuses, "not a GGUF file", an untrustworthy header, a refused redirect), AbortedError
   */
  async readGgufHeader(repo: string, filePath: string, options: ReadGgufHeaderOptions = {}): Promise<GgufFileInfo> {
    const revision = options.revision ?? "main";
    const what = `${repo}/${filePath}`;
    const signal = this.combineSignals(options.signal);
    try {
      const parts = ggufPartPaths(filePath).map((partPath) => ({ url: this.fileUrl(repo, revision, partPath), name: `${repo}/${partPath}` }));
      return await readRemoteGgufHeader(parts, {
        fetch: this.fetchImpl,
        policy: this.urlPolicy,
        // Built for the hub's URL: fetchWithRedirectPolicy drops it once a redirect leaves the hub's origin.
        headers: this.authHeaders(this.endpoint),
        hasToken: this.hasToken,
        idleTimeoutMs: this.requestTimeoutMs,
        maxHeaderBytes: options.maxHeaderBytes,
        tempDir: options.tempDir,
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw new AbortedError();
      if (error instanceof DownloadError) throw new HubError("network", `${error.message} (reading the GGUF header of ${what})`, { cause: error });
      if (error instanceof MardukError) throw error;
      throw new HubError("network", `Could not read the GGUF header of ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Whether a remote model fits this machine, from its header alone (a few MB, whatever the
   * file's size), with its metadata.
   */
  async estimateFit(repo: string, filePath: string, options: EstimateFitOptions = {}): Promise<RemoteFitEstimate> {
    const revision = options.revision ?? "main";
    const fileInfo = await this.readGgufHeader(repo, filePath, { revision, signal: options.signal });
    const llama = await this.options.llama?.();
    const needs = await estimateResourceNeeds(fileInfo, { contextSize: options.contextSize, sequences: options.sequences, llama });
    const machine = options.machine ?? (await probeMachineResources(llama));
    return {
      repo,
      revision,
      path: filePath,
      url: this.fileUrl(repo, revision, filePath),
      summary: await summarizeGgufInfo(fileInfo, filePath),
      fit: fitVerdict(needs, machine, options.headroomFraction),
    };
  }

  /**
   * A repository's model card: its README.md, fetched like a download (the redirect policy,
   * the token only on the hub's origin), at most `maxBytes` of it, within a timeout; YAML front
   * matter removed.
   * @throws HubError (401/403 for gated repos, statuses, network), AbortedError
   */
  async modelCard(repo: string, options: ModelCardOptions = {}): Promise<HubModelCard> {
    const revision = options.revision ?? "main";
    const url = this.fileUrl(repo, revision, "README.md");
    const pageUrl = `${this.endpoint}/${repo}`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_MODEL_CARD_TIMEOUT_MS;
    const signal = this.combineSignals(options.signal, timeoutMs);
    const what = `the model card of ${repo}`;
    try {
      const { response } = await fetchWithRedirectPolicy(
        url,
        { headers: { ...this.authHeaders(this.endpoint), accept: "text/markdown, text/plain, */*" }, signal },
        { fetch: this.fetchImpl, policy: this.urlPolicy },
      );
      if (response.status === 404) {
        await response.body?.cancel().catch(() => undefined);
        return { repo, markdown: null, truncated: false, pageUrl };
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => undefined);
        throw hubErrorForStatus(response.status, what, this.hasToken);
      }
      const { text, truncated } = await readBoundedText(response, options.maxBytes ?? DEFAULT_MODEL_CARD_MAX_BYTES);
      return { repo, markdown: stripFrontMatter(text), truncated, pageUrl };
    } catch (error) {
      if (options.signal?.aborted || this.disposeController.signal.aborted) throw new AbortedError();
      if (error instanceof MardukError) throw error;
      if (error instanceof DownloadError) throw new HubError("network", `${error.message} (${what})`, { cause: error });
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new HubError("network", `The hub did not send ${what} within ${timeoutMs} ms`, { cause: error });
      }
      throw new HubError("network", `Could not read ${what}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Aborts every call in flight; the client must not be used afterwards. */
  dispose(): void {
    this.disposeController.abort(new AbortedError("The hub client was disposed"));
  }

  private combineSignals(signal: AbortSignal | undefined, timeoutMs?: number): AbortSignal {
    const signals = [this.disposeController.signal];
    if (signal) signals.push(signal);
    if (timeoutMs !== undefined) signals.push(AbortSignal.timeout(timeoutMs));
    return AbortSignal.any(signals);
  }

  /** Runs an @huggingface/hub call with our fetch, turning its errors into HubErrors. */
  private async call<T>(what: string, run: (fetchImpl: typeof fetch, library: HubLibrary) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const library = await loadHubLibrary();
    const outer = this.combineSignals(signal);
    const fetchImpl: typeof fetch = async (input, init) => {
      const request = input instanceof Request ? input : undefined;
      const url = input instanceof Request ? input.url : input;
      const headers = new Headers(init?.headers ?? request?.headers);
      for (const [name, value] of Object.entries(this.authHeaders(url))) headers.set(name, value);
      const signals = [outer, AbortSignal.timeout(this.requestTimeoutMs)];
      if (init?.signal) signals.push(init.signal);
      const { response } = await fetchWithRedirectPolicy(
        url,
        { ...init, method: init?.method ?? request?.method, headers, signal: AbortSignal.any(signals) },
        { fetch: this.fetchImpl, policy: this.urlPolicy },
      );
      return response;
    };
    try {
      return await run(fetchImpl, library);
    } catch (error) {
      if (outer.aborted) throw new AbortedError();
      if (error instanceof DownloadError) throw new HubError("network", `${error.message} (${what})`, { cause: error });
      if (error instanceof MardukError) throw error;
      if (error instanceof library.HubApiError) throw hubErrorForStatus(error.statusCode, what, this.hasToken);
      // JSON.parse quotes the start of what it could not parse: say what happened, not what arrived.
      if (error instanceof SyntaxError) {
        throw new HubError("network", `The hub at ${this.endpoint} answered something that is not the JSON its API sends (${what})`, { cause: error });
      }
      if (error instanceof Error && error.name === "TimeoutError") {
        throw new HubError("network", `The hub did not answer within ${this.requestTimeoutMs} ms (${what})`, { cause: error });
      }
      throw new HubError("network", `Could not reach the hub at ${this.endpoint} (${what}): ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * The files whose headers make up a model: every part of a split one (`x-00002-of-00003.gguf`
 * names parts 1 to 3), else the file itself.
 */
function ggufPartPaths(filePath: string): string[] {
  const split = parseSplitPart(filePath);
  if (!split) return [filePath];
  if (split.parts > MAX_HEADER_PARTS) throw new HubError("no_match", `${filePath} names a model of ${split.parts} parts; at most ${MAX_HEADER_PARTS} are read`);
  const stem = split.basePath.replace(/\.gguf$/i, "");
  const count = String(split.parts).padStart(5, "0");
  return Array.from({ length: split.parts }, (_, index) => `${stem}-${String(index + 1).padStart(5, "0")}-of-${count}.gguf`);
}

function modelBasePath(model: HubModelFile): string {
  const slash = model.path.lastIndexOf("/");
  return slash === -1 ? model.name : `${model.path.slice(0, slash)}/${model.name}`;
}

function requireComplete(model: HubModelFile): HubModelFile {
  if (!model.complete) {
    throw new HubError("no_match", `${model.name} is a split model whose parts are not all in the repository`);
  }
  return model;
}

function describeChoices(models: readonly HubModelFile[]): string {
  if (models.length === 0) return "none";
  return [...models]
    .sort((a, b) => quantRank(a.quant) - quantRank(b.quant))
    .slice(0, 20)
    .map((model) => model.path)
    .join(", ");
}

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
