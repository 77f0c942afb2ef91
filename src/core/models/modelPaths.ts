import { existsSync, readdirSync, realpathSync } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.js";

export interface ModelFile {
  /** Path relative to the models dir without `.gguf`, with forward slashes, e.g. `owner/repo/name-Q4_K_M`. */
  id: string;
  /** Absolute path of the file. */
  path: string;
  sizeBytes: number;
  modifiedAt: number;
}

const GGUF_EXTENSION = ".gguf";

/** The id of a file inside the models dir. */
export function modelIdFromPath(modelsDir: string, filePath: string): string {
  const relative = path.relative(modelsDir, filePath).split(path.sep).join("/");
  return relative.toLowerCase().endsWith(GGUF_EXTENSION) ? relative.slice(0, -GGUF_EXTENSION.length) : relative;
}

/** True when `child` is `parent` or lies below it (both absolute and normalised). */
function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * Resolves a model id to its file inside the models dir. An id can never reach outside it:
 * `..` segments, absolute paths, backslashes, NUL bytes and symlinks that lead out are refused.
 * @throws InvalidArgumentError for an unsafe id, ModelNotFoundError when no such file exists.
 */
export function resolveModelIdPath(modelsDir: string, id: string): string {
  const unsafe =
    id.length === 0 ||
    id.length > 512 ||
    id.includes("\0") ||
    id.includes("\\") ||
    id.startsWith("/") ||
    /^[a-zA-Z]:/.test(id) ||
    id.split("/").some((segment) => segment === ".." || segment === "." || segment === "");
  if (unsafe) throw new InvalidArgumentError(`'${id}' is not a valid model id`, "model");
  const root = path.resolve(modelsDir);
  const withExtension = id.toLowerCase().endsWith(GGUF_EXTENSION) ? id : id + GGUF_EXTENSION;
  let candidate = path.resolve(root, withExtension);
  if (!isInside(root, candidate)) throw new ModelNotFoundError(id);
  // A split model (`name-00001-of-00003.gguf` ...) is known by the id `name` and loaded from its first part.
  if (!existsSync(candidate)) candidate = findFirstSplitPart(candidate) ?? candidate;
  if (!existsSync(candidate)) throw new ModelNotFoundError(id);
  // Symlinks are allowed inside the dir but must not lead out of it.
  const realRoot = realpathSync(root);
  const realCandidate = realpathSync(candidate);
  if (!isInside(realRoot, realCandidate)) throw new ModelNotFoundError(id);
  return candidate;
}

/** Matches the name of one part of a split GGUF model: `<base>-00001-of-00003.gguf`. */
export const SPLIT_PART_PATTERN = /^(?<base>.+)-(?<part>\d{5})-of-(?<count>\d{5})\.gguf$/i;

/** The part number and part count of a split GGUF file name, or undefined for a whole model. */
export function parseSplitPartName(fileName: string): { base: string; part: number; count: number } | undefined {
  const match = SPLIT_PART_PATTERN.exec(fileName);
  if (!match?.groups) return undefined;
  const part = Number(match.groups.part);
  const count = Number(match.groups.count);
  if (part < 1 || count < 2 || part > count) return undefined;
  return { base: match.groups.base!, part, count };
}

/** For `<dir>/<base>.gguf`, the path of `<dir>/<base>-00001-of-0000N.gguf` when such a first part exists. */
function findFirstSplitPart(wholePath: string): string | undefined {
  const dir = path.dirname(wholePath);
  const base = path.basename(wholePath).slice(0, -GGUF_EXTENSION.length);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  const first = names.find((name) => {
    const split = parseSplitPartName(name);
    return split !== undefined && split.part === 1 && split.base === base;
  });
  return first === undefined ? undefined : path.join(dir, first);
}

/** Every `.gguf` file below the models dir (following no symlink out of it), sorted by id. */
export async function listModelFiles(modelsDir: string): Promise<ModelFile[]> {
  const root = path.resolve(modelsDir);
  if (!existsSync(root)) return [];
  const realRoot = realpathSync(root);
  const found: ModelFile[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 8) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(full, depth + 1);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && entry.name.toLowerCase().endsWith(GGUF_EXTENSION)) {
        const real = await realpath(full).catch(() => undefined);
        if (!real || !isInside(realRoot, real)) continue;
        const info = await stat(full).catch(() => undefined);
        if (!info?.isFile()) continue;
        found.push({ id: modelIdFromPath(root, full), path: full, sizeBytes: info.size, modifiedAt: info.mtimeMs });
      }
    }
  };
  await walk(root, 0);
  return found.sort((a, b) => a.id.localeCompare(b.id));
}
