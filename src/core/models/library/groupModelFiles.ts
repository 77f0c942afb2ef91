import path from "node:path";
import { parseSplitPartName, type ModelFile } from "../modelPaths.js";

/** The files of one library model: a whole GGUF file, or every part of a split one. */
export interface ModelFileGroup {
  /** Library id: the file's id, without `-00001-of-0000N` for a split model. */
  id: string;
  /** The files present, in part order. */
  files: ModelFile[];
  /** For a split model: how many parts its names announce. */
  partCount?: number;
  /** For a split model: the part numbers (1-based) that are missing. */
  missingParts: number[];
}

/**
 * Groups the files of a models dir into models: `name-00001-of-00003.gguf`,
 * `name-00002-of-00003.gguf`, ... become one model `name`. When a split model's id would
 * collide with another model's, its parts are listed one by one under their own ids.
 */
export function groupModelFiles(files: readonly ModelFile[]): ModelFileGroup[] {
  const whole: ModelFileGroup[] = [];
  const splits = new Map<string, { id: string; count: number; parts: Map<number, ModelFile> }>();
  for (const file of files) {
    const split = parseSplitPartName(path.basename(file.path));
    if (!split) {
      whole.push({ id: file.id, files: [file], missingParts: [] });
      continue;
    }
    const prefixLength = file.id.length - (path.basename(file.path).length - ".gguf".length);
    const id = file.id.slice(0, prefixLength) + split.base;
    const key = `${id}\0${split.count}`;
    let group = splits.get(key);
    if (!group) {
      group = { id, count: split.count, parts: new Map() };
      splits.set(key, group);
    }
    group.parts.set(split.part, file);
  }

  const groups = [...whole];
  const taken = new Set(whole.map((group) => group.id));
  for (const split of splits.values()) {
    const files = [...split.parts.entries()].sort(([a], [b]) => a - b).map(([, file]) => file);
    if (taken.has(split.id)) {
      for (const file of files) groups.push({ id: file.id, files: [file], missingParts: [] });
      continue;
    }
    taken.add(split.id);
    const missingParts: number[] = [];
    for (let part = 1; part <= split.count; part++) if (!split.parts.has(part)) missingParts.push(part);
    groups.push({ id: split.id, files, partCount: split.count, missingParts });
  }
  return groups.sort((a, b) => a.id.localeCompare(b.id));
}
