import type { StarterModelInfo } from "../../../../shared/api/hub.js";
import { Card } from "../../components/Card.js";
import { useAppStores, useDownloads, useModels } from "../../app/StoresContext.js";
import { isDownloadActive } from "../downloads/downloadsStore.js";

/** The download reference of a starter model at its preferred quantization. */
export function starterRef(starter: StarterModelInfo): string {
  return `hf:${starter.repo}:${starter.preferredQuant}`;
}

/** "Get started": curated models, one click to download. */
export function StarterModels() {
  const starters = useModels((state) => state.starters);
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
          const ref = starterRef(starter);
          const owned = library.some((model) => model.origin?.repo === starter.repo || model.id.startsWith(`${starter.repo}/`));
          const downloading = starting.includes(ref) || downloads.some((download) => download.ref === ref && isDownloadActive(download));
          return (
            <li key={starter.name} className="starter" data-testid="starter-model">
              <div className="starter-head">
                <strong>{starter.title}</strong>
                <span className="badge badge-neutral">{starter.parameters}</span>
                {starter.kind === "embedding" && <span className="badge badge-info">embedding</span>}
              </div>
              <p className="starter-description">{starter.description}</p>
              <div className="starter-foot">
                <span className="muted">
                  {starter.repo} · {starter.preferredQuant}
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
