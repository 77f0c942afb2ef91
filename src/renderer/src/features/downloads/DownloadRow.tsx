import type { DownloadProgress } from "../../../../shared/api/hub.js";
import { Badge, type BadgeTone } from "../../components/Badge.js";
import { ProgressBar } from "../../components/ProgressBar.js";
import { useAppStores } from "../../app/StoresContext.js";
import { formatBytes, formatDuration, formatSpeed } from "../../lib/format.js";
import { isDownloadActive, isDownloadResumable, isDownloadRetryable } from "./downloadsStore.js";

const STATE_TONES: Record<DownloadProgress["state"], BadgeTone> = {
  queued: "neutral",
  resolving: "info",
  downloading: "accent",
  verifying: "info",
  completed: "success",
  failed: "danger",
  cancelled: "warning",
};

/** One download: name, state, bar, bytes, speed, ETA and its buttons. */
export function DownloadRow({ download }: { download: DownloadProgress }) {
  const { downloads } = useAppStores();
  const active = isDownloadActive(download);
  // Unknown progress moves only while the download does; a stopped one without a total shows none.
  const share = download.totalBytes ? download.receivedBytes / download.totalBytes : download.state === "completed" ? 1 : active ? undefined : 0;
  const name = download.modelId ?? download.ref.replace(/^hf:/, "");
  return (
    <li className="download" data-testid="download-row" data-state={download.state} data-ref={download.ref}>
      <div className="download-head">
        <span className="download-name" title={download.ref}>
          {name}
        </span>
        <Badge tone={STATE_TONES[download.state]} testId="download-state">
          {download.state}
        </Badge>
      </div>
      <ProgressBar
        value={download.state === "completed" ? 1 : share}
        label={`Download progress of ${name}`}
        tone={download.state === "failed" ? "danger" : download.state === "cancelled" ? "warning" : "accent"}
        testId="download-progress"
      />
      <div className="download-foot">
        <span data-testid="download-bytes">
          {formatBytes(download.receivedBytes)}
          {download.totalBytes ? ` of ${formatBytes(download.totalBytes)}` : ""}
          {download.parts > 1 ? ` · part ${download.part} of ${download.parts}` : ""}
        </span>
        {download.state === "downloading" && (
          <>
            <span data-testid="download-speed">{formatSpeed(download.bytesPerSecond)}</span>
            <span data-testid="download-eta">{download.etaSeconds !== undefined ? `${formatDuration(download.etaSeconds)} left` : ""}</span>
          </>
        )}
        {download.attempt > 1 && active && <span className="muted">attempt {download.attempt}</span>}
        <span className="download-buttons">
          {active && (
            <button type="button" className="button button-small" onClick={() => void downloads.getState().cancel(download.id)} aria-label={`Cancel download of ${name}`}>
              Cancel
            </button>
          )}
          {isDownloadResumable(download) && (
            <button type="button" className="button button-small button-primary" onClick={() => void downloads.getState().resume(download.id)} aria-label={`Resume download of ${name}`}>
              Resume
            </button>
          )}
          {isDownloadRetryable(download) && (
            <button type="button" className="button button-small button-primary" onClick={() => void downloads.getState().resume(download.id)} aria-label={`Retry download of ${name}`}>
              Retry
            </button>
          )}
          {!active && (
            <button
              type="button"
              className="button button-small button-ghost"
              onClick={() => downloads.getState().dismiss(download.id)}
              aria-label={`${download.state === "completed" ? "Dismiss" : "Remove"} ${name}`}
            >
              {download.state === "completed" ? "Dismiss" : "Remove"}
            </button>
          )}
        </span>
      </div>
      {download.error && (
        <p className="download-error" role="alert">
          {download.error}
        </p>
      )}
    </li>
  );
}
