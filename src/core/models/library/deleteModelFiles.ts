import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { parseSplitPartName, resolveModelIdPath } from "../modelPaths.js";
import { originSidecarPath } from "./originSidecar.js";

/**
 * The files that make up the model `id`: its GGUF file, or every part of a split model,
 * plus each file's origin sidecar when present. Only paths inside the models dir.
 * @throws InvalidArgumentError for an unsafe id, ModelNotFoundError when no such model exists.
 */
export function findModelFiles(modelsDir: string, id: string): string[] {
  const file = resolveModelIdPath(modelsDir, id);
  const split = parseSplitPartName(path.basename(file));
  const models = split
    ? Array.from({ length: split.count }, (_, index) =>
        path.join(
          path.dirname(file),
          `${split.base}-${String(index + 1).padStart(5, "0")}-of-${String(split.count).padStart(5, "0")}${path.extname(file)}`,
        ),
      ).filter((part) => existsSync(part))
    : [file];
  const sidecars = models.map(originSidecarPath).filter((sidecar) => existsSync(sidecar));
  return [...models, ...sidecars];
}

/**
 * Deletes a model: every part of it and its origin sidecars. Ids can never reach outside the
 * models dir (see {@link resolveModelIdPath}).
 * @returns the deleted paths.
 * @throws InvalidArgumentError, ModelNotFoundError
 */
export async function deleteModelFiles(modelsDir: string, id: string): Promise<string[]> {
  const files = findModelFiles(modelsDir, id);
  for (const file of files) await rm(file, { force: true });
  return files;
}
