import { ErrorNotice } from "../../components/ErrorNotice.js";
import { ScreenHeader } from "../../components/ScreenHeader.js";
import { useAppStores, useModels } from "../../app/StoresContext.js";
import { DownloadsPanel } from "../downloads/DownloadsPanel.js";
import { HubBrowser } from "./HubBrowser.js";
import { LibraryCard } from "./LibraryCard.js";
import { StarterModels } from "./StarterModels.js";

/** Models: the library, downloads, the starter list and the Hugging Face browser. */
export function ModelsScreen() {
  const { models } = useAppStores();
  const error = useModels((state) => state.error);
  const libraryEmpty = useModels((state) => state.libraryLoaded && state.library.length === 0);
  return (
    <div className="screen">
      <ScreenHeader title="Models" subtitle="GGUF models on this machine, and where to find more." />
      <ErrorNotice message={error} onDismiss={() => models.getState().clearError()} />
      {/* Search first, the starters right below it; an empty library shows both before anything else. */}
      {libraryEmpty && <HubBrowser />}
      {libraryEmpty && <StarterModels />}
      <DownloadsPanel />
      <LibraryCard />
      {!libraryEmpty && <HubBrowser />}
      {!libraryEmpty && <StarterModels />}
    </div>
  );
}
