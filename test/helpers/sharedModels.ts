import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** ../shared/models beside the repository (present on developer machines and in CI). */
export const SHARED_MODELS_DIR = path.resolve(fileURLToPath(new URL("../../../shared/models", import.meta.url)));

/** The path of a shared model, or undefined (with a visible note) when it is missing. */
export function sharedModelPath(fileName: string): string | undefined {
  const file = path.join(SHARED_MODELS_DIR, fileName);
  if (existsSync(file)) return file;
  console.warn(`[marduk-local tests] ${file} is missing: tests that need it are skipped.`);
  return undefined;
}
