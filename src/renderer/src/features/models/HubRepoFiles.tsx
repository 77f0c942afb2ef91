import type { HubModelFile } from "../../../../shared/api/hub.js";
import { useAppStores, useDownloads, useModels } from "../../app/StoresContext.js";
import { formatBytes } from "../../lib/format.js";
import { isDownloadActive } from "../downloads/downloadsStore.js";
import { FitBadge } from "./FitBadge.js";
import { ModelCard } from "./ModelCard.js";

/** The open repository: its GGUF files by quantization (size, fit with its numbers, the best fit marked, download) and its model card. */
export function HubRepoFiles() {
  return (
    <div className="hub-repo-view" data-testid="hub-repo">
      <HubFilesTable />
      <ModelCard />
    </div>
  );
}

function HubFilesTable() {
  const hub = useModels((state) => state.hub);
  if (hub.loadingFiles) return <p className="muted hub-files">Reading the repository…</p>;
  if (hub.filesError) {
    return (
      <p className="notice notice-error hub-files" role="alert" data-testid="hub-files-error">
        {hub.filesError}
      </p>
    );
  }
  const files = hub.files;
  if (!files) return null;
  const rows = files.groups.flatMap((group) => group.files.map((file) => ({ quant: group.quant, file })));
  if (rows.length === 0) return <p className="empty hub-files">This repository has no GGUF model files.</p>;
  return (
    <div className="table-wrap hub-files">
      <table className="table table-compact" data-testid="hub-files">
        <thead>
          <tr>
            <th scope="col">Quantization</th>
            <th scope="col">File</th>
            <th scope="col">Size</th>
            <th scope="col">Fit</th>
            <th scope="col">
              <span className="visually-hidden">Download</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ quant, file }) => (
            <HubFileRow key={file.path} repo={files.repo} quant={quant} file={file} best={files.bestFit === file.path} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function HubFileRow({ repo, quant, file, best }: { repo: string; quant: string; file: HubModelFile; best: boolean }) {
  const { downloads } = useAppStores();
  const fit = useModels((state) => state.hub.files?.fit[file.path]);
  const ref = `hf:${repo}/${file.path}`;
  const active = useDownloads((state) => state.starting.includes(ref) || state.downloads.some((download) => download.ref === ref && isDownloadActive(download)));
  const owned = useModels((state) => state.library.some((model) => model.origin?.repo === repo && model.origin.file === file.path));
  return (
    <tr data-testid="hub-file" data-path={file.path} data-best-fit={best || undefined} className={best ? "hub-file-best" : undefined}>
      <td>
        <strong>{quant}</strong>
        {best && (
          <span className="badge badge-accent hub-best-fit" data-testid="best-fit" title="The best quantization that fits this machine (what downloading the repository would pick)">
            best fit
          </span>
        )}
      </td>
      <td className="cell-file">
        {file.name}
        {file.parts.length > 1 && <span className="muted"> ({file.parts.length} parts)</span>}
        {!file.complete && <span className="badge badge-warning">incomplete</span>}
      </td>
      <td>{formatBytes(file.sizeBytes)}</td>
      <td>
        <FitBadge fit={fit} />
      </td>
      <td className="cell-actions">
        <button
          type="button"
          className="button button-small button-primary"
          disabled={active || owned || !file.complete}
          onClick={() => void downloads.getState().start(ref)}
          aria-label={`Download ${file.name}`}
        >
          {owned ? "In library" : active ? "Downloading…" : "Download"}
        </button>
      </td>
    </tr>
  );
}
