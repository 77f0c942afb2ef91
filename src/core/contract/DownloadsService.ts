import type { DownloadProgress } from "../../shared/api/hub.js";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { DownloadsApi } from "../../shared/contract/downloads.js";
import type { DownloadManager } from "../models/downloads/DownloadManager.js";
import { downloadIdRequest, parseRequest, startDownloadRequest } from "./requestSchemas.js";

/** The downloads group over the core's DownloadManager. */
export class DownloadsService implements DownloadsApi {
  constructor(private readonly downloads: DownloadManager) {}

  /**
   * Starts (or joins the running download of the same ref) and answers with its first snapshot.
   * Any key holder can call this, so what it may reach is limited: hub refs and starter names
   * (fetched from the configured hub), https URLs, and plain http only to loopback, checked again
   * on every redirect hop. A download that is refused or that answers something other than a GGUF
   * file fails with `download_failed`, and no error text quotes the bytes of the answer.
   * @throws InvalidArgumentError for anything else (a path, another scheme, plain http elsewhere)
   */
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
