import type { StarterModelFile, StarterModelInfo } from "../../../../shared/api/hub.js";
import { Card } from "../../components/Card.js";
import { useAppStores, useDownloads, useModels } from "../../app/StoresContext.js";
import { formatBytes } from "../../lib/format.js";
import { isDownloadActive } from "../downloads/downloadsStore.js";

/**
 * The download reference of a starter model: the file picked for this machine when the hub
 * said which (so the size shown is what is downloaded), else its preferred quantization.
 */
export function starterRef(starter: StarterModelInfo, file?: StarterModelFile): string {
  return file?.path ? `hf:${starter.repo}/${file.path}` : `hf:${starter.repo}:${starter.preferredQuant}`;
}

/** What a starter card says about its download: "Q8_0 · 531 MB", or "size unknown". */
export function starterDownloadLabel(starter: StarterModelInfo, file?: StarterModelFile): string {
  if (file?.sizeBytes === undefined) return `${starter.preferredQuant} · size unknown`;
  return `${file.quant ?? starter.preferredQuant} · ${formatBytes(file.sizeBytes)}`;
}

/** "Get started": curated models, one click to download. */
export function StarterModels() {
  const starters = useModels((state) => state.starters);
  const starterFiles = useModels((state) => state.starterFiles);
  const library = useModels((state) => state.library);
  const downloads = useDownloads((state) => state.downloads);
  const starting = useDownloads((state) => state.starting);
  const { downloads: downloadsStore } = useAppStores();
  if (starters.length === 0) return null;
  return (
    <Card title="Get started" testId="starter-models">
      <p className="muted">Small, capable models picked for a first run. The size is chosen for this machine.</p>
      <ul className="starter-grid">
        {starters.map((starter) => {
          const file = starterFiles[starter.name];
          const ref = starterRef(starter, file);
          const owned = library.some((model) => model.origin?.repo === starter.repo || model.id.startsWith(`${starter.repo}/`));
          const downloading = starting.includes(ref) || downloads.some((download) => download.ref === ref && isDownloadActive(download));
          return (
            <li key={starter.name} className="starter" data-testid="starter-model" data-name={starter.name}>
              <div className="starter-head">
                <strong>{starter.title}</strong>
                <span className="badge badge-neutral">{starter.parameters}</span>
                {starter.kind === "embedding" && <span className="badge badge-info">embedding</span>}
              </div>
              <p className="starter-description">{starter.description}</p>
              <div className="starter-foot">
                <span className="muted">
                  {starter.repo} · <span data-testid="starter-size" title={file?.error}>{starterDownloadLabel(starter, file)}</span>
                </span>
                <button
                  type="button"
                  className="button button-small button-primary"
                  disabled={owned || downloading}
                  onClick={() => void downloadsStore.getState().start(ref)}
                  aria-label={`Download ${starter.title}`}
                >
                  {owned ? "In library" : downloading ? "Downloading…" : "Download"}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </Card>
  );
}
