import type { DownloadProgress } from "../api/hub.js";
import type { EventSource } from "./common.js";

/** The downloads group: resumable, verified model downloads. */
export interface DownloadsApi {
  /** Starts (or resumes) a download of `hf:owner/repo/file.gguf`, `hf:owner/repo:Q4_K_M` or an https URL. */
  start(request: { ref: string }): Promise<DownloadProgress>;
  /** Stops a download, keeping its partial file for a later resume. */
  cancel(request: { id: string }): Promise<void>;
  list(): Promise<DownloadProgress[]>;
  /** Every change of every download (state, bytes, speed). */
  onProgress: EventSource<DownloadProgress>;
}
