import { readFile } from "node:fs/promises";
import path from "node:path";
import type { ModelOrigin } from "../../../shared/api/library.js";

/** `<dir>/.<file name>.origin.json`: where `pull` records where a model file came from. */
export function originSidecarPath(modelFilePath: string): string {
  return path.join(path.dirname(modelFilePath), `.${path.basename(modelFilePath)}.origin.json`);
}

const ORIGIN_FIELDS = ["source", "repo", "revision", "file", "sha256", "url", "downloadedAt"] as const;

/** The origin recorded beside a model file, or undefined when there is none or it is unreadable. */
export async function readOriginSidecar(modelFilePath: string): Promise<ModelOrigin | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(originSidecarPath(modelFilePath), "utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const origin: Partial<Record<(typeof ORIGIN_FIELDS)[number], string>> = {};
  for (const field of ORIGIN_FIELDS) {
    const value = record[field];
    if (typeof value === "string" && value.length > 0) origin[field] = value;
  }
  if (!origin.source) return undefined;
  return { ...origin, source: origin.source };
}
