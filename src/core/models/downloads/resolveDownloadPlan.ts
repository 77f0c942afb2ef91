import path from "node:path";
import type { DownloadOrigin, MachineResources, StarterModelInfo } from "../../../shared/api/hub.js";
import { InvalidArgumentError } from "../../errors.js";
import type { HubClient } from "../hub/HubClient.js";
import { HubError } from "../hub/hubErrors.js";
import { parseSplitPart } from "../hub/quantization.js";
import { isSafeRepoPath, type ModelRef } from "../modelRef.js";
import { modelIdFromPath } from "../modelPaths.js";
import { findStarterModel } from "../starterModels.js";
import { DownloadError } from "./downloadErrors.js";
import { fileNameFromUrl, hostFolderName, localRepoFileSegments } from "./downloadFileName.js";
import type { DownloadUrlPolicy } from "./downloadUrlPolicy.js";
import type { DownloadPart } from "./fetchPart.js";
import { fetchWithRedirectPolicy } from "./fetchWithRedirectPolicy.js";
import { partialPathFor } from "./originSidecar.js";

/** A download part plus what its origin sidecar will say. */
export interface PlannedPart extends DownloadPart {
  origin: Omit<DownloadOrigin, "sha256" | "downloadedAt">;
}

/** Everything a download will fetch, and where it goes. */
export interface DownloadPlan {
  /** The model's id once downloaded (a split model's id has no `-0000N-of-0000M`). */
  modelId: string;
  /** Folder of the files. */
  dir: string;
  /** One part, or every part of a split model in order. */
  parts: PlannedPart[];
}

/** What resolving a plan needs. */
export interface PlanContext {
  modelsDir: string;
  hub: HubClient;
  starters: readonly StarterModelInfo[];
  machine: () => Promise<MachineResources>;
  fetch: typeof fetch;
  /** What every URL a download fetches, redirect targets included, must satisfy. */
  urlPolicy: DownloadUrlPolicy;
  /** Redirects followed before a request fails. */
  maxRedirects: number;
  signal: AbortSignal;
}

function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/** `<modelsDir>/<segments...>`, refusing anything that would land outside the models dir. */
function targetPath(modelsDir: string, segments: string[]): string {
  const joined = segments.join("/");
  if (!isSafeRepoPath(joined)) throw new InvalidArgumentError(`'${joined}' is not a safe file path`, "ref");
  const root = path.resolve(modelsDir);
  const target = path.resolve(root, ...joined.split("/"));
  if (!isInside(root, target)) throw new InvalidArgumentError(`'${joined}' would be written outside the models folder`, "ref");
  return target;
}

/** The model id of a download: the first file's id, without the split suffix. */
function planModelId(modelsDir: string, firstPath: string): string {
  const split = parseSplitPart(firstPath);
  return modelIdFromPath(path.resolve(modelsDir), split ? split.basePath : firstPath);
}

async function hubPlan(context: PlanContext, ref: Extract<ModelRef, { kind: "hf" }>, preferredQuant?: string): Promise<DownloadPlan> {
  const machine = ref.file || ref.quant ? undefined : await context.machine();
  const resolved = await context.hub.resolveModel(ref, { machine, preferredQuant, signal: context.signal });
  const [owner, name] = resolved.repo.split("/") as [string, string];
  const parts = resolved.model.parts.map((file, index): PlannedPart => {
    // The repository's path checked as it is, then saved under visible names: a file or folder
    // starting with a dot would be hidden from the library (it skips dotfiles).
    if (!isSafeRepoPath(file.path)) throw new InvalidArgumentError(`'${file.path}' is not a safe file path`, "ref");
    const finalPath = targetPath(context.modelsDir, [owner, name, ...localRepoFileSegments(file.path)]);
    const url = context.hub.fileUrl(resolved.repo, resolved.revision, file.path);
    if (!file.sha256) throw new HubError("no_match", `The hub lists no sha256 for ${resolved.repo}/${file.path}, so it cannot be verified`);
    return {
      url,
      headers: context.hub.authHeaders(url),
      finalPath,
      partialPath: partialPathFor(finalPath),
      expectedSize: file.sizeBytes,
      sha256: file.sha256,
      checkGgufMagic: index === 0,
      origin: { source: "hf", repo: resolved.repo, revision: resolved.revision, file: file.path, url },
    };
  });
  return { modelId: planModelId(context.modelsDir, parts[0]!.finalPath), dir: path.dirname(parts[0]!.finalPath), parts };
}

async function urlPlan(context: PlanContext, url: URL): Promise<DownloadPlan> {
  // A visible file name of its own: never a dotfile, `..`, a sub-folder or a control character.
  const fileName = fileNameFromUrl(url);
  const finalPath = targetPath(context.modelsDir, [hostFolderName(url), fileName]);
  // HEAD for the size (so the disk check and the progress bar know it); a server that does
  // not answer HEAD is fine, the size then comes with the download. A redirect the policy
  // refuses fails the download here already.
  let expectedSize: number | undefined;
  try {
    const { response } = await fetchWithRedirectPolicy(
      url,
      { method: "HEAD", headers: context.hub.authHeaders(url), signal: AbortSignal.any([context.signal, AbortSignal.timeout(15_000)]) },
      { fetch: context.fetch, policy: context.urlPolicy, maxRedirects: context.maxRedirects },
    );
    await response.body?.cancel().catch(() => undefined);
    const length = response.headers.get("content-length");
    if (response.ok && length !== null && /^\d+$/.test(length)) expectedSize = Number(length);
  } catch (error) {
    if (context.signal.aborted) throw context.signal.reason as Error;
    if (error instanceof DownloadError) throw error;
  }
  return {
    modelId: planModelId(context.modelsDir, finalPath),
    dir: path.dirname(finalPath),
    parts: [
      {
        url: url.href,
        headers: context.hub.authHeaders(url),
        finalPath,
        partialPath: partialPathFor(finalPath),
        expectedSize,
        checkGgufMagic: true,
        origin: { source: "url", file: fileName, url: url.href },
      },
    ],
  };
}

/** Turns a parsed ref into the files to fetch (asking the hub for hf refs and starters). */
export async function resolveDownloadPlan(context: PlanContext, ref: ModelRef): Promise<DownloadPlan> {
  if (ref.kind === "url") return urlPlan(context, ref.url);
  if (ref.kind === "starter") {
    const starter = findStarterModel(ref.name, context.starters);
    if (!starter) throw new InvalidArgumentError(`'${ref.name}' is not a starter model`, "ref");
    return hubPlan(context, { kind: "hf", repo: starter.repo }, starter.preferredQuant);
  }
  return hubPlan(context, ref);
}
