import { EventEmitter } from "node:events";
import path from "node:path";
import type * as NodeLlamaCppModule from "node-llama-cpp";
import type { GgufFileInfo } from "node-llama-cpp";
import type { LibraryModel } from "../../shared/api/library.js";
import type { Logger } from "../logger.js";
import { findMissingTensorData } from "./library/checkTensorData.js";
import { deleteModelFiles } from "./library/deleteModelFiles.js";
import { DirectoryWatcher, type WatchMode } from "./library/DirectoryWatcher.js";
import { groupModelFiles, type ModelFileGroup } from "./library/groupModelFiles.js";
import { readOriginSidecar } from "./library/originSidecar.js";
import { parseQuantization } from "./hub/quantization.js";
import { summarizeGguf } from "./library/summarizeGguf.js";
import { checkGgufHeader } from "./library/checkGgufHeader.js";
import { validateModelMetadata } from "./library/validateModelMetadata.js";
import { describeGgufReadFailure } from "./library/describeGgufReadFailure.js";
import { listModelFiles } from "./modelPaths.js";

/** Options of {@link ModelLibrary}. */
export interface ModelLibraryOptions {
  /** Folder of GGUF models; ids are paths relative to it. */
  modelsDir: string;
  /**
   * Watch the folder and emit `changed` when its models change: true or "native" uses
   * `fs.watch` (recursive; polling where unsupported), "poll" polls, false does not watch.
   * Default: true.
   */
  watch?: boolean | WatchMode;
  /** Quiet time after the last file event before rescanning, in ms. Default: 300. */
  debounceMs?: number;
  /** Interval of polling, in ms. Default: 2000. */
  pollIntervalMs?: number;
  /** Files whose metadata is read at once during a scan. Default: 4. */
  readConcurrency?: number;
  /** Default: no logging. */
  logger?: Logger;
}

/** Events of {@link ModelLibrary}. */
export interface ModelLibraryEvents {
  /** The models in the folder changed (added, removed, replaced); carries the new list. */
  changed: [models: LibraryModel[]];
}

type NodeLlamaCpp = typeof NodeLlamaCppModule;

/** Metadata keys that are large and unused by the library (token lists). */
const IGNORED_KEYS = ["tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"];

/** What a model looks like apart from its origin, cached while its files stay the same. */
type Described = Omit<LibraryModel, "origin">;

/**
 * The models in the models folder: GGUF files (split files as one model), with their
 * metadata read through node-llama-cpp's GGUF reader and cached by (path, size, mtime).
 * A file that is not valid GGUF is listed as broken with the reason; it never breaks a scan.
 * When watching, emits `changed` after the folder's models change.
 */
export class ModelLibrary extends EventEmitter<ModelLibraryEvents> {
  readonly modelsDir: string;
  private readonly cache = new Map<string, { signature: string; described: Described }>();
  private running: Promise<LibraryModel[]> | undefined;
  private queued: Promise<LibraryModel[]> | undefined;
  private lastSignature: string | undefined;
  private watcher: DirectoryWatcher | undefined;
  private nodeLlamaCpp: Promise<NodeLlamaCpp> | undefined;
  private disposed = false;

  constructor(private readonly options: ModelLibraryOptions) {
    super();
    this.modelsDir = path.resolve(options.modelsDir);
    const watch = options.watch ?? true;
    if (watch !== false) {
      this.watcher = new DirectoryWatcher(this.modelsDir, () => this.rescanInBackground(), {
        mode: watch === true ? "native" : watch,
        debounceMs: options.debounceMs,
        pollIntervalMs: options.pollIntervalMs,
      });
      // Establish what "changed" is measured against.
      this.rescanInBackground();
    }
  }

  /** How the folder is watched, or undefined when it is not. */
  get watchMode(): WatchMode | undefined {
    return this.watcher?.mode;
  }

  /** Scans the folder (metadata of unchanged files comes from the cache) and returns every model, sorted by id. */
  list(): Promise<LibraryModel[]> {
    if (!this.running) return this.startScan();
    // A scan is running, but it may have missed a change made after it started: run one more
    // after it, shared by every caller that arrives meanwhile.
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.startScan();
      });
    return this.queued;
  }

  /** One model by id, or undefined. */
  async get(id: string): Promise<LibraryModel | undefined> {
    const normalized = id.replace(/\.gguf$/i, "");
    return (await this.list()).find((model) => model.id === normalized);
  }

  /** Absolute path of a model's file (the first part of a split model): what llama.cpp is given. */
  filePath(model: LibraryModel): string {
    return path.join(this.modelsDir, model.files[0]!.path);
  }

  /**
   * Deletes a model's files (every part) and its origin sidecars. It does not unload it.
   * @returns the deleted paths.
   * @throws InvalidArgumentError for an unsafe id, ModelNotFoundError
   */
  async remove(id: string): Promise<string[]> {
    const deleted = await deleteModelFiles(this.modelsDir, id);
    this.rescanInBackground();
    return deleted;
  }

  /** Stops watching. */
  dispose(): void {
    this.disposed = true;
    this.watcher?.dispose();
    this.watcher = undefined;
    this.removeAllListeners();
  }

  private rescanInBackground(): void {
    if (this.disposed) return;
    this.list().catch((error: unknown) => this.options.logger?.warn({ err: error }, "model library scan failed"));
  }

  private startScan(): Promise<LibraryModel[]> {
    const scan = this.scan().finally(() => {
      if (this.running === scan) this.running = undefined;
    });
    this.running = scan;
    return scan;
  }

  private async scan(): Promise<LibraryModel[]> {
    const groups = groupModelFiles(await listModelFiles(this.modelsDir));
    const models = await mapWithConcurrency(groups, this.options.readConcurrency ?? 4, (group) => this.describeWithOrigin(group));
    const present = new Set(groups.map((group) => group.files[0]!.path));
    for (const key of this.cache.keys()) if (!present.has(key)) this.cache.delete(key);

    const signature = JSON.stringify(models);
    const previous = this.lastSignature;
    this.lastSignature = signature;
    if (previous !== undefined && previous !== signature && !this.disposed) this.emit("changed", models);
    return models;
  }

  private async describeWithOrigin(group: ModelFileGroup): Promise<LibraryModel> {
    const [described, origin] = await Promise.all([this.describe(group), readOriginSidecar(group.files[0]!.path)]);
    return origin ? { ...described, origin } : described;
  }

  private async describe(group: ModelFileGroup): Promise<Described> {
    const first = group.files[0]!;
    const signature = JSON.stringify([group.id, group.partCount, group.files.map((file) => [file.path, file.sizeBytes, file.modifiedAt])]);
    const cached = this.cache.get(first.path);
    if (cached?.signature === signature) return cached.described;
    const described = await this.readMetadata(group);
    this.cache.set(first.path, { signature, described });
    return described;
  }

  private async readMetadata(group: ModelFileGroup): Promise<Described> {
    const fileName = path.basename(group.files[0]!.path);
    const base: Described = {
      id: group.id,
      kind: "model",
      files: group.files.map((file) => ({
        path: path.relative(this.modelsDir, file.path).split(path.sep).join("/"),
        sizeBytes: file.sizeBytes,
      })),
      sizeBytes: group.files.reduce((sum, file) => sum + file.sizeBytes, 0),
      modifiedAt: Math.max(...group.files.map((file) => file.modifiedAt)),
      quantization: parseQuantization(fileName),
      hasChatTemplate: false,
      capabilities: [],
      status: "ok",
    };
    const broken = (error: string): Described => ({ ...base, status: "broken", error });

    if (group.missingParts.length > 0) {
      return broken(`missing part${group.missingParts.length > 1 ? "s" : ""} ${group.missingParts.join(", ")} of ${group.partCount}`);
    }
    // Bounds first: a crafted header must not make the reader below loop or allocate for minutes.
    for (const file of group.files) {
      const headerProblem = await checkGgufHeader(file.path);
      if (headerProblem) return broken(headerProblem);
    }
    let info: GgufFileInfo;
    let nodeLlamaCpp: NodeLlamaCpp;
    try {
      this.nodeLlamaCpp ??= import("node-llama-cpp");
      nodeLlamaCpp = await this.nodeLlamaCpp;
      info = await nodeLlamaCpp.readGgufFileInfo(group.files[0]!.path, {
        logWarnings: false,
        ignoreKeys: IGNORED_KEYS,
        spliceSplitFiles: group.partCount !== undefined,
      });
    } catch (error) {
      return broken(describeGgufReadFailure(error));
    }
    // The reader reads past the end of a file as zeros, so a cut-off header "parses": check the size.
    const firstSize = group.files[0]!.sizeBytes;
    if (Number(info.infoEndOffset) > firstSize) {
      return broken(`the file is truncated: its header needs ${Number(info.infoEndOffset)} bytes but the file has ${firstSize}`);
    }
    const summary = summarizeGguf(info, fileName, (fileType) => nodeLlamaCpp.GgufFileType[fileType]);
    const truncated = findMissingTensorData(
      info.fullTensorInfo ?? info.tensorInfo ?? [],
      group.files.map((file) => file.sizeBytes),
    );
    const described: Described = { ...base, ...summary, quantization: summary.quantization ?? base.quantization };
    if (!summary.architecture) return { ...described, status: "broken", error: "no general.architecture in the metadata" };
    const unsafe = validateModelMetadata(info.metadata as unknown as Record<string, unknown>);
    if (unsafe) return { ...described, status: "broken", error: unsafe };
    return truncated ? { ...described, status: "broken", error: truncated } : described;
  }
}

/** Maps items with at most `limit` calls running at once, keeping the order. */
async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
