import { mkdtemp, readdir, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { commonPrefixLength } from "./prefixMatch.js";
import { isProcessAlive } from "../isProcessAlive.js";

/** Options of {@link SequenceStateStore}. */
export interface SequenceStateStoreOptions {
  /**
   * Folder in which a private folder for the state files is made (on first save) and removed
   * on dispose or process exit. Default: the OS temp dir.
   */
  dir?: string;
  /** Most states kept on disk; 0 turns saving off. Default: 32. */
  maxStates?: number;
  /** Most bytes of state files kept; the least recently used go first. Default: 1 GiB. */
  maxBytes?: number;
  /** Fewest tokens worth a save (tokens a sequence would lose) or a restore (tokens gained). Default: 256. */
  minTokens?: number;
}

/** What a {@link SequenceStateStore} did and holds. */
export interface SequenceStateStats {
  /** States written to disk. */
  saved: number;
  /** States loaded back into a sequence. */
  restored: number;
  /** Saves or loads that failed (the request went on without them). */
  failures: number;
  /** State files on disk now, and their bytes. */
  files: number;
  bytes: number;
}

/** The part of node-llama-cpp's LlamaContextSequence the store uses. */
export interface StatefulSequence {
  readonly contextTokens: readonly number[];
  /**
   * True for models whose cache cannot drop a tail (recurrent, hybrid, or sliding-window
   * attention): their RAM checkpoints are not in a state file, so a restored state would be
   * evaluated again anyway, and the store leaves them alone.
   */
  readonly needsCheckpoints?: boolean;
  saveStateToFile(filePath: string): Promise<{ fileSize: number }>;
  loadStateFromFile(filePath: string, acceptRisk: { acceptRisk: true }): Promise<void>;
  clearHistory(): Promise<void>;
}

interface SavedState {
  file: string;
  tokens: readonly number[];
  bytes: number;
  /** Order of last use, for LRU eviction. */
  usedAt: number;
}

const DIR_PREFIX = "marduk-kv-";
const foldersToRemoveAtExit = new Set<string>();
let exitHookInstalled = false;
const sweptParents = new Set<string>();

function removeFoldersAtExit(): void {
  for (const folder of foldersToRemoveAtExit) rmSync(folder, { recursive: true, force: true });
}

/** Removes state folders left by processes that died without cleaning up (a crash, the OOM killer). */
async function sweepStaleFolders(parent: string): Promise<void> {
  if (sweptParents.has(parent)) return;
  sweptParents.add(parent);
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const pid = Number(/^\d+(?=-)/.exec(name.slice(DIR_PREFIX.length))?.[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isProcessAlive(pid)) continue;
    await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * KV cache states of sequences kept on disk, so that more conversations than sequences keep
 * their evaluated prompts: before a sequence is reused for another prompt, the part it would
 * lose is saved, and a later prompt that extends a saved state better than the sequence it got
 * loads that state instead of evaluating it again. Bounded by count and bytes (least recently
 * used go first). Files are only ever loaded into the context that wrote them (node-llama-cpp
 * warns that a state of another model may crash the process), from a private folder.
 */
export class SequenceStateStore {
  private readonly states = new Set<SavedState>();
  private readonly parentDir: string;
  private readonly maxStates: number;
  private readonly maxBytes: number;
  readonly minTokens: number;
  private folder: Promise<string> | undefined;
  private useCounter = 0;
  private fileCounter = 0;
  private counts = { saved: 0, restored: 0, failures: 0 };
  private disposed = false;

  constructor(options: SequenceStateStoreOptions = {}) {
    this.parentDir = options.dir ?? os.tmpdir();
    this.maxStates = Math.max(0, options.maxStates ?? 32);
    this.maxBytes = Math.max(0, options.maxBytes ?? 1024 ** 3);
    this.minTokens = Math.max(1, options.minTokens ?? 256);
  }

  get stats(): SequenceStateStats {
    let bytes = 0;
    for (const state of this.states) bytes += state.bytes;
    return { ...this.counts, files: this.states.size, bytes };
  }

  /**
   * Readies a sequence just leased for `prompt`: saves the cached tokens it would lose (when
   * at least `minTokens`), then loads a saved state that shares at least `minTokens` more of
   * the prompt than the sequence does. Never throws: a failed save or load only costs time.
   * @returns whether a saved state was loaded
   */
  async prepare(sequence: StatefulSequence, prompt: readonly number[]): Promise<boolean> {
    if (this.disposed || this.maxStates === 0 || sequence.needsCheckpoints) return false;
    const cached = sequence.contextTokens;
    const live = commonPrefixLength(cached, prompt);
    const best = this.bestMatch(prompt);
    const restore = best && best.sharedPrefix - live >= this.minTokens ? best.state : undefined;
    // Taken out at once, so that a concurrent save's eviction never deletes the file being loaded.
    if (restore) this.states.delete(restore);
    const lost = restore ? cached.length : cached.length - live;
    if (lost >= this.minTokens) await this.save(sequence, cached);
    if (!restore) return false;
    return this.load(sequence, restore);
  }

  /** Deletes every state file and the folder; later calls do nothing. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.states.clear();
    const folder = await this.folder?.catch(() => undefined);
    if (!folder) return;
    foldersToRemoveAtExit.delete(folder);
    await rm(folder, { recursive: true, force: true }).catch(() => undefined);
  }

  private bestMatch(prompt: readonly number[]): { state: SavedState; sharedPrefix: number } | undefined {
    let best: { state: SavedState; sharedPrefix: number } | undefined;
    for (const state of this.states) {
      const sharedPrefix = commonPrefixLength(state.tokens, prompt);
      if (sharedPrefix > (best?.sharedPrefix ?? 0)) best = { state, sharedPrefix };
    }
    return best;
  }

  private async save(sequence: StatefulSequence, tokens: readonly number[]): Promise<void> {
    // A saved state that already holds these tokens (and maybe more) makes this save redundant.
    for (const state of this.states) {
      if (commonPrefixLength(state.tokens, tokens) === tokens.length) {
        state.usedAt = ++this.useCounter;
        return;
      }
    }
    let file: string | undefined;
    try {
      file = path.join(await this.directory(), `${++this.fileCounter}.state`);
      const { fileSize } = await sequence.saveStateToFile(file);
      if (this.disposed || fileSize > this.maxBytes) {
        await rm(file, { force: true });
        return;
      }
      // States these tokens extend are superseded by this one.
      for (const state of [...this.states]) {
        if (commonPrefixLength(state.tokens, tokens) === state.tokens.length) await this.remove(state);
      }
      const saved: SavedState = { file, tokens, bytes: fileSize, usedAt: ++this.useCounter };
      this.states.add(saved);
      this.counts.saved++;
      await this.evictBeyondBounds(saved);
    } catch {
      this.counts.failures++;
      if (file) await rm(file, { force: true }).catch(() => undefined);
    }
  }

  private async load(sequence: StatefulSequence, state: SavedState): Promise<boolean> {
    try {
      await sequence.loadStateFromFile(state.file, { acceptRisk: true });
      this.counts.restored++;
      return true;
    } catch {
      this.counts.failures++;
      // A half-loaded state must not be mistaken for a valid cache.
      await sequence.clearHistory().catch(() => undefined);
      return false;
    } finally {
      await rm(state.file, { force: true }).catch(() => undefined);
    }
  }

  private async evictBeyondBounds(keep: SavedState): Promise<void> {
    const byAge = [...this.states].sort((a, b) => a.usedAt - b.usedAt);
    let bytes = byAge.reduce((sum, state) => sum + state.bytes, 0);
    let count = byAge.length;
    for (const state of byAge) {
      if (count <= this.maxStates && bytes <= this.maxBytes) break;
      if (state === keep) continue;
      await this.remove(state);
      count--;
      bytes -= state.bytes;
    }
  }

  private async remove(state: SavedState): Promise<void> {
    this.states.delete(state);
    await rm(state.file, { force: true }).catch(() => undefined);
  }

  /** The private folder of this store, made on first use (mkdtemp: mode 0700). */
  private directory(): Promise<string> {
    this.folder ??= (async () => {
      await sweepStaleFolders(this.parentDir);
      const folder = await mkdtemp(path.join(this.parentDir, `${DIR_PREFIX}${process.pid}-`));
      foldersToRemoveAtExit.add(folder);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on("exit", removeFoldersAtExit);
      }
      return folder;
    })();
    return this.folder;
  }
}
