import type { HubFile, HubModelFile, HubQuantGroup } from "../../../shared/api/hub.js";
import { parseSplitPartName } from "../modelPaths.js";

/**
 * Quantizations from best to worst quality (roughly: bits per weight, with the k-quants and
 * i-quants of one size ordered as llama.cpp's quantize tool documents them).
 */
export const QUANT_QUALITY_ORDER: readonly string[] = [
  "F32",
  "BF16",
  "F16",
  "Q8_0",
  "Q6_K_L",
  "Q6_K",
  "Q5_K_L",
  "Q5_K_M",
  "Q5_K_S",
  "Q5_1",
  "Q5_0",
  "Q4_K_L",
  "Q4_K_XL",
  "Q4_K_M",
  "IQ4_NL",
  "Q4_K_S",
  "IQ4_XS",
  "MXFP4",
  "Q4_1",
  "Q4_0",
  "Q4_0_8_8",
  "Q4_0_4_8",
  "Q4_0_4_4",
  "Q3_K_XL",
  "Q3_K_L",
  "Q3_K_M",
  "IQ3_M",
  "IQ3_S",
  "Q3_K_S",
  "IQ3_XS",
  "IQ3_XXS",
  "Q2_K_L",
  "Q2_K_XL",
  "Q2_K",
  "Q2_K_S",
  "IQ2_M",
  "IQ2_S",
  "IQ2_XS",
  "IQ2_XXS",
  "TQ2_0",
  "IQ1_M",
  "IQ1_S",
  "TQ1_0",
];

const QUANT_PATTERN =
  /(?:^|[-._])(IQ[1-4]_(?:XXS|XS|NL|S|M)|Q[1-8]_K(?:_(?:XXS|XS|XL|S|M|L))?|Q[1-8]_[01](?:_[48]_[48])?|TQ[12]_0|MXFP4(?:_MOE)?|BF16|FP16|FP32|F16|F32)(?=$|[-._])/gi;


/** Rank of a quantization: 0 is best; unknown quantizations rank after every known one. */
export function quantRank(quant: string | undefined): number {
  if (quant === undefined) return QUANT_QUALITY_ORDER.length;
  const index = QUANT_QUALITY_ORDER.indexOf(quant.toUpperCase());
  return index === -1 ? QUANT_QUALITY_ORDER.length : index;
}

/** Normalises a quantization name: upper case, FP16 as F16, MXFP4_MOE as MXFP4. */
export function normalizeQuant(quant: string): string {
  const upper = quant.toUpperCase();
  if (upper === "FP16") return "F16";
  if (upper === "FP32") return "F32";
  if (upper === "MXFP4_MOE") return "MXFP4";
  return upper;
}

/**
 * The quantization named in a GGUF file name or path, e.g. "Q4_K_M" for
 * `Llama-3.2-1B-Instruct-Q4_K_M.gguf`, "Q8_0" for `nomic-embed-text-v1.5.Q8_0.gguf`, "F16" for
 * `qwen2.5-0.5b-instruct-fp16.gguf`. The file name wins over folder names; the last match wins.
 * @returns undefined when the name does not say.
 */
export function parseQuantization(filePath: string): string | undefined {
  const segments = filePath.split("/").filter((segment) => segment !== "");
  for (let index = segments.length - 1; index >= 0; index--) {
    const name = segments[index]!;
    const segment = (parseSplitPartName(name)?.base ?? name).replace(/\.gguf$/i, "");
    const matches = [...segment.matchAll(QUANT_PATTERN)];
    const last = matches.at(-1);
    if (last?.[1]) return normalizeQuant(last[1]);
  }
  return undefined;
}

/** Part number and part count of a split GGUF file (`name-00002-of-00003.gguf`), else undefined. */
export function parseSplitPart(filePath: string): { part: number; parts: number; basePath: string } | undefined {
  const slash = filePath.lastIndexOf("/");
  const split = parseSplitPartName(filePath.slice(slash + 1));
  if (!split) return undefined;
  return { part: split.part, parts: split.count, basePath: `${filePath.slice(0, slash + 1)}${split.base}.gguf` };
}

/** True for multimodal projector files (`mmproj-*.gguf`), which are not models on their own. */
export function isProjectorFile(filePath: string): boolean {
  const name = filePath.split("/").at(-1) ?? filePath;
  return /(^|[-._])mmproj([-._]|$)/i.test(name);
}

/**
 * Groups a repository's files into GGUF models (the parts of a split model become one entry
 * with the summed size). Files that are not GGUF are ignored.
 */
export function groupGgufModels(files: readonly HubFile[]): HubModelFile[] {
  interface Pending {
    basePath: string;
    split: boolean;
    expectedParts: number;
    parts: Map<number, HubFile>;
  }
  const pending = new Map<string, Pending>();
  for (const file of files) {
    if (!file.path.toLowerCase().endsWith(".gguf")) continue;
    const split = parseSplitPart(file.path);
    // A file `x.gguf` next to split parts `x-0000N-of-...` is a separate model: separate keys.
    const key = split ? `split:${split.basePath}` : `file:${file.path}`;
    let entry = pending.get(key);
    if (!entry) {
      entry = { basePath: split?.basePath ?? file.path, split: split !== undefined, expectedParts: split?.parts ?? 1, parts: new Map() };
      pending.set(key, entry);
    }
    entry.parts.set(split?.part ?? 1, file);
    if (split) entry.expectedParts = Math.max(entry.expectedParts, split.parts);
  }
  const models: HubModelFile[] = [];
  for (const entry of pending.values()) {
    const parts = [...entry.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, file]) => file);
    models.push({
      path: parts[0]!.path,
      name: entry.basePath.split("/").at(-1) ?? entry.basePath,
      quant: parseQuantization(entry.basePath),
      sizeBytes: parts.reduce((sum, file) => sum + file.sizeBytes, 0),
      parts,
      complete: entry.parts.size === entry.expectedParts && entry.parts.has(1),
      projector: isProjectorFile(entry.basePath),
    });
  }
  return models.sort((a, b) => a.path.localeCompare(b.path));
}

/** Groups models by quantization, best quality first; projectors are left out. */
export function groupByQuantization(models: readonly HubModelFile[]): HubQuantGroup[] {
  const groups = new Map<string, HubModelFile[]>();
  for (const model of models) {
    if (model.projector) continue;
    const quant = model.quant ?? "unknown";
    const list = groups.get(quant) ?? [];
    list.push(model);
    groups.set(quant, list);
  }
  return [...groups.entries()]
    .map(([quant, files]) => ({
      quant,
      files: files.sort((a, b) => a.sizeBytes - b.sizeBytes || a.path.localeCompare(b.path)),
      sizeBytes: Math.min(...files.map((file) => file.sizeBytes)),
    }))
    .sort((a, b) => quantRank(a.quant) - quantRank(b.quant) || a.quant.localeCompare(b.quant));
}
