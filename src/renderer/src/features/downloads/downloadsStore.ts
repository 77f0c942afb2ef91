import { createStore, type StoreApi } from "zustand/vanilla";
import type { DownloadProgress, DownloadState } from "../../../../shared/api/hub.js";
import type { MardukApi, Unsubscribe } from "../../../../shared/contract/index.js";
import { FrameBatcher } from "../../lib/FrameBatcher.js";
import type { FrameScheduler } from "../../lib/frameScheduler.js";
import { errorMessage } from "../../lib/errorMessage.js";

/** States in which a download still moves. */
export const ACTIVE_DOWNLOAD_STATES: readonly DownloadState[] = ["queued", "resolving", "downloading", "verifying"];

export function isDownloadActive(download: DownloadProgress): boolean {
  return ACTIVE_DOWNLOAD_STATES.includes(download.state);
}

/**
 * A cancelled or failed download that got some bytes continues from its partial file (the core
 * asks the server for the rest with a Range request, and starts over when the server cannot).
 */
export function isDownloadResumable(download: DownloadProgress): boolean {
  return (download.state === "cancelled" || download.state === "failed") && download.receivedBytes > 0;
}

/** A failed or cancelled download with nothing to continue from (not found, refused, cancelled before its first byte) is tried again from the start. */
export function isDownloadRetryable(download: DownloadProgress): boolean {
  return (download.state === "cancelled" || download.state === "failed") && download.receivedBytes === 0;
}

export interface DownloadsState {
  /** Newest first. */
  downloads: DownloadProgress[];
  /** Refs being started (the answer has not come yet). */
  starting: string[];
  error: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  /** Starts (or resumes) a download of `hf:owner/repo/file.gguf`, `hf:owner/repo:QUANT` or a URL. */
  start(ref: string): Promise<DownloadProgress | null>;
  cancel(id: string): Promise<void>;
  /** Continues a cancelled or failed download from its partial file, or tries one without any again. */
  resume(id: string): Promise<void>;
  /** Removes a finished, failed or cancelled download from the list (the UI's list only). */
  dismiss(id: string): void;
  clearError(): void;
}

export type DownloadsStore = StoreApi<DownloadsState>;

export interface DownloadsStoreOptions {
  /** Progress events are applied once per frame. */
  scheduler: FrameScheduler;
}

function newestFirst(downloads: Iterable<DownloadProgress>): DownloadProgress[] {
  return [...downloads].sort((a, b) => b.startedAt - a.startedAt);
}

/** The downloads feature: every download's latest progress, batched per frame. */
export function createDownloadsStore(api: MardukApi, options: DownloadsStoreOptions): DownloadsStore {
  let unsubscribe: Unsubscribe | undefined;
  const dismissed = new Set<string>();

  return createStore<DownloadsState>()((set, get) => {
    const merge = (updates: DownloadProgress[]): void => {
      const byId = new Map(get().downloads.map((download) => [download.id, download]));
      for (const update of updates) {
        if (dismissed.has(update.id) && !isDownloadActive(update)) continue;
        dismissed.delete(update.id);
        byId.set(update.id, update);
      }
      set({ downloads: newestFirst(byId.values()) });
    };
    const batcher = new FrameBatcher<DownloadProgress>(options.scheduler, merge);

    return {
      downloads: [],
      starting: [],
      error: null,

      async init() {
        unsubscribe ??= api.downloads.onProgress((progress) => batcher.push(progress));
        await get().refresh();
      },

      dispose() {
        unsubscribe?.();
        unsubscribe = undefined;
        batcher.dispose();
      },

      async refresh() {
        try {
          const downloads = await api.downloads.list();
          batcher.flush();
          set({ downloads: newestFirst(downloads.filter((download) => !dismissed.has(download.id) || isDownloadActive(download))) });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async start(ref) {
        const trimmed = ref.trim();
        if (!trimmed) return null;
        set({ starting: [...get().starting, trimmed], error: null });
        try {
          const progress = await api.downloads.start({ ref: trimmed });
          batcher.flush();
          merge([progress]);
          return progress;
        } catch (error) {
          set({ error: errorMessage(error) });
          return null;
        } finally {
          set({ starting: get().starting.filter((candidate) => candidate !== trimmed) });
        }
      },

      async cancel(id) {
        try {
          await api.downloads.cancel({ id });
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      async resume(id) {
        const download = get().downloads.find((candidate) => candidate.id === id);
        if (!download) return;
        const resumed = await get().start(download.ref);
        // The core may continue under the same id or a new one; keep one row per file.
        if (resumed && resumed.id !== id) get().dismiss(id);
      },

      dismiss(id) {
        dismissed.add(id);
        set({ downloads: get().downloads.filter((download) => download.id !== id) });
      },

      clearError() {
        set({ error: null });
      },
    };
  });
}
