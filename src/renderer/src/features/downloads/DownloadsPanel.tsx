import { Card } from "../../components/Card.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { useAppStores, useDownloads } from "../../app/StoresContext.js";
import { DownloadRow } from "./DownloadRow.js";

/** Every download of this session: progress, speed, ETA, cancel and resume. */
export function DownloadsPanel() {
  const { downloads: store } = useAppStores();
  const downloads = useDownloads((state) => state.downloads);
  const error = useDownloads((state) => state.error);
  if (downloads.length === 0 && !error) return null;
  return (
    <Card title="Downloads" testId="downloads">
      <ErrorNotice message={error} onDismiss={() => store.getState().clearError()} testId="downloads-error" />
      <ul className="download-list">
        {downloads.map((download) => (
          <DownloadRow key={download.id} download={download} />
        ))}
      </ul>
    </Card>
  );
}
