import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { DownloadOrigin } from "../../../shared/api/hub.js";

/** `<dir>/.<file name><suffix>`: hidden, so the library scan skips it. */
function hiddenSibling(filePath: string, suffix: string): string {
  return path.join(path.dirname(filePath), `.${path.basename(filePath)}${suffix}`);
}

/** Where a model file's origin is recorded: `<dir>/.<file name>.origin.json`. */
export function originSidecarPath(modelPath: string): string {
  return hiddenSibling(modelPath, ".origin.json");
}

/** The partial file a download writes before it is verified: `<final>.partial`. */
export function partialPathFor(modelPath: string): string {
  return `${modelPath}.partial`;
}

/** What the partial file is a partial of (url, sha256, size): `<dir>/.<file name>.partial.json`. */
export function partialMetaPathFor(modelPath: string): string {
  return hiddenSibling(modelPath, ".partial.json");
}

/** The lock a downloading process holds: `<dir>/.<file name>.lock`. */
export function lockPathFor(modelPath: string): string {
  return hiddenSibling(modelPath, ".lock");
}

/** Writes JSON to a temporary name and renames it into place, so readers never see half a file. */
export async function writeJsonAtomic(filePath: string, value: unknown): Promise<void> {
  const temp = `${filePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(value, null, 2) + "\n");
    await rename(temp, filePath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Records where a downloaded model file came from. */
export async function writeModelOrigin(modelPath: string, origin: DownloadOrigin): Promise<void> {
  await writeJsonAtomic(originSidecarPath(modelPath), origin);
}

function isOrigin(value: unknown): value is DownloadOrigin {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    (record.source === "hf" || record.source === "url") &&
    typeof record.file === "string" &&
    typeof record.sha256 === "string" &&
    typeof record.url === "string" &&
    typeof record.downloadedAt === "string"
  );
}

/** The recorded origin of a model file; undefined when there is none or it is unreadable. */
export async function readModelOrigin(modelPath: string): Promise<DownloadOrigin | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(originSidecarPath(modelPath), "utf8"));
    return isOrigin(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
