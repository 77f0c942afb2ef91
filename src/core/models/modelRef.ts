import { InvalidArgumentError } from "../errors.js";
import { isLoopbackHost } from "../api/security/hostNames.js";
import { normalizeQuant } from "./hub/quantization.js";

/** A file, a quantization, or (neither) the best fitting quantization of a hub repository. */
export interface HfModelRef {
  kind: "hf";
  /** "owner/repo". */
  repo: string;
  /** Branch, tag or commit. Undefined: "main". */
  revision?: string;
  /** Path of a GGUF file inside the repository (for a split model, any of its parts). */
  file?: string;
  /** A quantization such as "Q4_K_M" (normalised, upper case). */
  quant?: string;
}

export interface UrlModelRef {
  kind: "url";
  url: URL;
}

/** A name from the curated starter list (see starterModels.ts). */
export interface StarterModelRef {
  kind: "starter";
  name: string;
}

export type ModelRef = HfModelRef | UrlModelRef | StarterModelRef;

/** Options of {@link parseModelRef}. */
export interface ParseModelRefOptions {
  /** Names accepted as starter models. Default: none. */
  starterNames?: readonly string[];
  /**
   * The hub's base URL: an https URL on its host (e.g. `https://huggingface.co/o/r/resolve/main/f.gguf`)
   * becomes an hf ref, so its sha256 is verified. Default: https://huggingface.co.
   */
  hubEndpoint?: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const QUANT_NAME_PATTERN = /^[A-Za-z0-9_]{2,24}$/;
const HF_PREFIXES = ["hf://", "hf:", "huggingface:", "hf.co/", "huggingface.co/"];
const HUB_HOSTS = new Set(["huggingface.co", "hf.co"]);

function invalid(ref: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`'${ref}' is not a valid model reference: ${why}`, "ref");
}

/** Checks a path inside a repository: relative, no `.`/`..`/empty segments, no backslash or NUL. */
export function isSafeRepoPath(filePath: string): boolean {
  if (filePath === "" || filePath.length > 1024 || filePath.includes("\\") || filePath.includes("\0")) return false;
  if (filePath.startsWith("/")) return false;
  return filePath.split("/").every((segment) => segment !== "" && segment !== "." && segment !== ".." && !segment.includes(":"));
}

function parseRepo(ref: string, owner: string | undefined, name: string | undefined): string {
  if (!owner || !name || !NAME_PATTERN.test(owner) || !NAME_PATTERN.test(name) || name.endsWith(".gguf")) {
    throw invalid(ref, "expected owner/repo");
  }
  return `${owner}/${name}`;
}

/** Parses what follows `hf:`: `owner/repo[/path/file.gguf][:QUANT][@revision]`. */
function parseHfBody(ref: string, body: string): HfModelRef {
  let rest = body;
  let revision: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at !== -1) {
    revision = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/.test(revision) || revision.includes("..")) throw invalid(ref, "bad revision");
  }
  const [owner, name, ...pathParts] = rest.split("/");
  if (pathParts.length === 0) {
    const colon = name?.indexOf(":") ?? -1;
    if (name !== undefined && colon !== -1) {
      const quant = name.slice(colon + 1);
      if (!QUANT_NAME_PATTERN.test(quant)) throw invalid(ref, `'${quant}' is not a quantization name`);
      return { kind: "hf", repo: parseRepo(ref, owner, name.slice(0, colon)), revision, quant: normalizeQuant(quant) };
    }
    return { kind: "hf", repo: parseRepo(ref, owner, name), revision };
  }
  const file = pathParts.join("/");
  if (!isSafeRepoPath(file)) throw invalid(ref, "bad file path");
  if (!file.toLowerCase().endsWith(".gguf")) throw invalid(ref, "the file must be a .gguf file");
  return { kind: "hf", repo: parseRepo(ref, owner, name), revision, file };
}

/** A hub URL `https://<hub>/owner/repo/(resolve|blob)/<revision>/<path>` as an hf ref, else undefined. */
function hubUrlToRef(url: URL, hubEndpoint: string): HfModelRef | undefined {
  let hubHost: string;
  try {
    hubHost = new URL(hubEndpoint).host;
  } catch {
    hubHost = "huggingface.co";
  }
  if (url.host !== hubHost && !HUB_HOSTS.has(url.host)) return undefined;
  const segments = url.pathname.split("/").slice(1).map((segment) => decodeURIComponent(segment));
  const [owner, name, kind, revision, ...pathParts] = segments;
  if ((kind !== "resolve" && kind !== "blob") || !revision || pathParts.length === 0) return undefined;
  const file = pathParts.join("/");
  if (!owner || !name || !NAME_PATTERN.test(owner) || !NAME_PATTERN.test(name) || !isSafeRepoPath(file)) return undefined;
  if (!file.toLowerCase().endsWith(".gguf")) return undefined;
  return { kind: "hf", repo: `${owner}/${name}`, revision: revision === "main" ? undefined : revision, file };
}

/**
 * Parses what `pull` accepts:
 * - `hf:owner/repo/path/file.gguf` (any part of a split model fetches all of them),
 * - `hf:owner/repo:Q4_K_M` (the file of that quantization),
 * - `hf:owner/repo` (the best quantization that fits this machine),
 * - any of those with `@revision`; `hf.co/` and `huggingface.co/` work as prefixes too,
 * - an https URL (plain http only for loopback addresses, for tests and local mirrors),
 * - a starter model name (see starterModels.ts).
 * @throws InvalidArgumentError
 */
export function parseModelRef(ref: string, options: ParseModelRefOptions = {}): ModelRef {
  const text = ref.trim();
  if (text === "") throw invalid(ref, "it is empty");
  const prefix = HF_PREFIXES.find((candidate) => text.toLowerCase().startsWith(candidate));
  if (prefix) return parseHfBody(ref, text.slice(prefix.length));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid(ref, "malformed URL");
    }
    if (url.username || url.password) throw invalid(ref, "URLs with credentials are not accepted; use HF_TOKEN");
    if (url.protocol === "http:") {
      if (!isLoopbackHost(url.hostname)) throw invalid(ref, "plain http is allowed only for loopback addresses; use https");
    } else if (url.protocol !== "https:") {
      throw invalid(ref, `unsupported protocol ${url.protocol}`);
    }
    const fileName = decodeURIComponent(url.pathname.split("/").at(-1) ?? "");
    if (!fileName.toLowerCase().endsWith(".gguf") || !isSafeRepoPath(fileName)) throw invalid(ref, "the URL must name a .gguf file");
    return hubUrlToRef(url, options.hubEndpoint ?? "https://huggingface.co") ?? { kind: "url", url };
  }
  const starter = options.starterNames?.find((name) => name.toLowerCase() === text.toLowerCase());
  if (starter) return { kind: "starter", name: starter };
  const hint = options.starterNames?.length ? `, or a starter model: ${options.starterNames.join(", ")}` : "";
  throw invalid(ref, `use hf:owner/repo/file.gguf, hf:owner/repo:QUANT or an https URL${hint}`);
}

/** The canonical text of a ref (the inverse of {@link parseModelRef}). */
export function formatModelRef(ref: ModelRef): string {
  if (ref.kind === "url") return ref.url.href;
  if (ref.kind === "starter") return ref.name;
  const revision = ref.revision ? `@${ref.revision}` : "";
  if (ref.file) return `hf:${ref.repo}/${ref.file}${revision}`;
  if (ref.quant) return `hf:${ref.repo}:${ref.quant}${revision}`;
  return `hf:${ref.repo}${revision}`;
}
