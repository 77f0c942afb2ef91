import type { DownloadProgress } from "../../shared/api/hub.js";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { DownloadsApi } from "../../shared/contract/downloads.js";
import type { DownloadManager } from "../models/downloads/DownloadManager.js";
import { downloadIdRequest, parseRequest, startDownloadRequest } from "./requestSchemas.js";

/** The downloads group over the core's DownloadManager. */
export class DownloadsService implements DownloadsApi {
  constructor(private readonly downloads: DownloadManager) {}

  /** Starts (or joins the running download of the same ref) and answers with its first snapshot. */
  async start(request: { ref: string }): Promise<DownloadProgress> {
    const { ref } = parseRequest(startDownloadRequest, request);
    return this.downloads.start(ref.trim()).progress();
  }

  /** Cancels a running download (its partial file stays for a resume); ended or unknown ids are ignored. */
  async cancel(request: { id: string }): Promise<void> {
    const { id } = parseRequest(downloadIdRequest, request);
    this.downloads.cancel(id);
  }

  async list(): Promise<DownloadProgress[]> {
    return this.downloads.list();
  }

  onProgress = (listener: (progress: DownloadProgress) => void): Unsubscribe => this.downloads.onProgress(listener);
}
