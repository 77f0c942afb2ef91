import { createStore, type StoreApi } from "zustand/vanilla";
import type { FitEstimate, HubModel, HubModelCard, HubSearchSort, HubTokenStatus, StarterModelFile, StarterModelInfo } from "../../../../shared/api/hub.js";
import type { LibraryModel, LoadedModelState } from "../../../../shared/api/library.js";
import type { CatalogEntry, HubRepoWithFit, LoadModelOptions, MardukApi, Unsubscribe } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { fieldOfError } from "../../lib/fieldErrors.js";

/** What is being done to a model right now. */
export type ModelAction = "loading" | "unloading" | "removing";

/** The Hugging Face browser's state. */
export interface HubBrowserState {
  query: string;
  sort: HubSearchSort;
  /** null until the first search. */
  results: HubModel[] | null;
  searching: boolean;
  searchError: string | null;
  /** The repository whose files are shown. */
  repo: string | null;
  files: HubRepoWithFit | null;
  loadingFiles: boolean;
  filesError: string | null;
  /** The open repository's model card (README). */
  card: HubModelCard | null;
  loadingCard: boolean;
  cardError: string | null;
}

/** The load dialog's fit estimate for the options it shows. */
export interface LoadEstimateState {
  id: string;
  /** The last estimate (kept while a newer one is computed, so the dialog does not flicker). */
  fit: FitEstimate | null;
  estimating: boolean;
  /** Why the options cannot be estimated (the core refuses them, or the header cannot be read). */
  error: string | null;
}

export interface ModelsState {
  library: LibraryModel[];
  libraryLoaded: boolean;
  loaded: LoadedModelState[];
  starters: StarterModelInfo[];
  /** Starter name → the file it downloads on this machine, with its size (read from the hub after the starters). */
  starterFiles: Record<string, StarterModelFile>;
  /** Whether a Hugging Face token is in use (never the token); null until read. */
  hubToken: HubTokenStatus | null;
  /** Why saving or clearing the token failed. */
  hubTokenError: string | null;
  /** Every model clients can ask for, remote ones and the router's aliases included; read again when providers change. */
  catalog: CatalogEntry[];
  /** Model id → what the UI asked for and is waiting on. */
  pending: Record<string, ModelAction>;
  /** The last failure, for the screen's error notice. */
  error: string | null;
  /** The import form's path error (a failure that names the `path`), shown under the field. */
  importError: string | null;
  hub: HubBrowserState;
  /** The load dialog's estimate; null when no dialog asked for one. */
  loadEstimate: LoadEstimateState | null;

  /** Loads everything and subscribes to changes (idempotent). */
  init(): Promise<void>;
  /** Unsubscribes. */
  dispose(): void;
  /** Reads the library, the loaded models, the starters and the catalogue again (after a reconnect). */
  refresh(): Promise<void>;
  /** Reads the catalogue again (a provider was added, removed, or found its models). */
  refreshCatalog(): Promise<void>;
  loadModel(id: string, options?: LoadModelOptions): Promise<boolean>;
  /** Estimates whether a model fits with these load options; an answer overtaken by a newer request is dropped. */
  estimateLoad(id: string, options: LoadModelOptions): Promise<void>;
  /** Forgets the estimate (the dialog closed). */
  clearLoadEstimate(): void;
  unloadModel(id: string): Promise<boolean>;
  removeModel(id: string): Promise<boolean>;
  /** Imports a GGUF file by its path on the machine running the app. */
  importFile(path: string): Promise<LibraryModel | null>;
  searchHub(query: string, sort?: HubSearchSort): Promise<void>;
  setHubSort(sort: HubSearchSort): Promise<void>;
  openRepo(repo: string): Promise<void>;
  closeRepo(): void;
  /** Reads which file (and size) each starter downloads; failures leave the sizes unknown. */
  loadStarterFiles(): Promise<void>;
  loadHubToken(): Promise<void>;
  /** Stores a Hugging Face token; false (and `hubTokenError`) when it is refused. */
  saveHubToken(token: string): Promise<boolean>;
  clearHubToken(): Promise<boolean>;
  clearError(): void;
}

export type ModelsStore = StoreApi<ModelsState>;

const initialHub: HubBrowserState = {
  query: "",
  sort: "downloads",
  results: null,
  searching: false,
  searchError: null,
  repo: null,
  files: null,
  loadingFiles: false,
  filesError: null,
  card: null,
  loadingCard: false,
  cardError: null,
};

/** Sorts the library by id so rows do not jump around when events arrive. */
function sortLibrary(models: LibraryModel[]): LibraryModel[] {
  return [...models].sort((a, b) => a.id.localeCompare(b.id));
}

/** The models feature: library, residency, and the Hugging Face browser. */
export function createModelsStore(api: MardukApi): ModelsStore {
  let subscriptions: Unsubscribe[] = [];
  let searchSerial = 0;
  let filesSerial = 0;
  let catalogSerial = 0;
  let estimateSerial = 0;

  return createStore<ModelsState>()((set, get) => {
    const setPending = (id: string, action: ModelAction | undefined): void => {
      const pending = { ...get().pending };
      if (action) pending[id] = action;
      else delete pending[id];
      set({ pending });
    };
    const setHub = (patch: Partial<HubBrowserState>): void => set({ hub: { ...get().hub, ...patch } });

    /** Runs a model action, marking the model pending meanwhile; false (and `error`) when it fails. */
    const runAction = async (id: string, action: ModelAction, run: () => Promise<unknown>): Promise<boolean> => {
      setPending(id, action);
      try {
        await run();
        return true;
      } catch (error) {
        set({ error: errorMessage(error) });
        return false;
      } finally {
        setPending(id, undefined);
      }
    };

    const runHubSearch = async (query: string, sort: HubSearchSort): Promise<void> => {
      const serial = ++searchSerial;
      setHub({ query, sort, searching: true, searchError: null });
      try {
        const results = await api.models.searchHub({ query, sort, limit: 30 });
        if (serial === searchSerial) setHub({ results, searching: false });
      } catch (error) {
        if (serial === searchSerial) setHub({ searching: false, searchError: errorMessage(error), results: [] });
      }
    };

    /** Reads the catalogue; an answer overtaken by a newer read is dropped. */
    const readCatalog = async (): Promise<void> => {
      const serial = ++catalogSerial;
      const catalog = await api.models.catalog();
      if (serial === catalogSerial) set({ catalog });
    };

    return {
      library: [],
      libraryLoaded: false,
      loaded: [],
      starters: [],
      starterFiles: {},
      hubToken: null,
      hubTokenError: null,
      catalog: [],
      pending: {},
      error: null,
      importError: null,
      hub: initialHub,
      loadEstimate: null,

      async init() {
        if (subscriptions.length === 0) {
          subscriptions = [
            api.models.onLibraryChanged((library) => set({ library: sortLibrary(library), libraryLoaded: true })),
            api.models.onLoadedChanged((loaded) => set({ loaded })),
            // Remote models come and go with their providers.
            api.providers.onChanged(() => void get().refreshCatalog()),
          ];
        }
        await get().refresh();
      },

      dispose() {
        for (const unsubscribe of subscriptions) unsubscribe();
        subscriptions = [];
      },

      async refresh() {
        const [library, loaded, starters, catalog] = await Promise.allSettled([api.models.list(), api.models.loaded(), api.models.starters(), readCatalog()]);
        if (library.status === "fulfilled") set({ library: sortLibrary(library.value), libraryLoaded: true });
        if (loaded.status === "fulfilled") set({ loaded: loaded.value });
        if (starters.status === "fulfilled") set({ starters: starters.value });
        // Slower (hub calls): not waited for, the cards show "size unknown" until it answers.
        if (starters.status === "fulfilled" && starters.value.length > 0) void get().loadStarterFiles();
        void get().loadHubToken();
        const failed = [library, loaded, starters, catalog].find((result) => result.status === "rejected");
        if (failed) set({ error: errorMessage(failed.reason) });
      },

      async refreshCatalog() {
        try {
          await readCatalog();
        } catch (error) {
          set({ error: errorMessage(error) });
        }
      },

      loadModel(id, options) {
        return runAction(id, "loading", async () => {
          const state = await api.models.load({ id, ...(options ? { options } : {}) });
          // The event usually comes first; this keeps the table right if it does not.
          set({ loaded: [...get().loaded.filter((model) => model.id !== id), state] });
        });
      },

      async estimateLoad(id, options) {
        const serial = ++estimateSerial;
        const previous = get().loadEstimate;
        set({ loadEstimate: { id, fit: previous?.id === id ? previous.fit : null, estimating: true, error: null } });
        try {
          const fit = await api.models.estimateLoad({ id, options });
          if (serial === estimateSerial) set({ loadEstimate: { id, fit, estimating: false, error: null } });
        } catch (error) {
          if (serial === estimateSerial) set({ loadEstimate: { id, fit: null, estimating: false, error: errorMessage(error) } });
        }
      },

      clearLoadEstimate() {
        estimateSerial++;
        set({ loadEstimate: null });
      },

      unloadModel(id) {
        return runAction(id, "unloading", async () => {
          await api.models.unload({ id });
          set({ loaded: get().loaded.filter((model) => model.id !== id) });
        });
      },

      removeModel(id) {
        return runAction(id, "removing", async () => {
          await api.models.remove({ id });
          set({ library: get().library.filter((model) => model.id !== id) });
        });
      },

      async importFile(path) {
        const trimmed = path.trim();
        if (!trimmed) {
          set({ importError: "Enter the path of a .gguf file." });
          return null;
        }
        set({ importError: null });
        try {
          const model = await api.models.importFile({ path: trimmed });
          set({ library: sortLibrary([...get().library.filter((existing) => existing.id !== model.id), model]) });
          return model;
        } catch (error) {
          // An error about the path goes under the field; anything else stays at the screen's top.
          if (fieldOfError(error, { path: "path" })) set({ importError: errorMessage(error) });
          else set({ error: errorMessage(error) });
          return null;
        }
      },

      searchHub(query, sort) {
        return runHubSearch(query.trim(), sort ?? get().hub.sort);
      },

      setHubSort(sort) {
        if (get().hub.results === null) {
          setHub({ sort });
          return Promise.resolve();
        }
        return runHubSearch(get().hub.query, sort);
      },

      async openRepo(repo) {
        const serial = ++filesSerial;
        setHub({ repo, files: null, loadingFiles: true, filesError: null, card: null, loadingCard: true, cardError: null });
        void api.models.modelCard({ repo }).then(
          (card) => serial === filesSerial && setHub({ card, loadingCard: false }),
          (error: unknown) => serial === filesSerial && setHub({ loadingCard: false, cardError: errorMessage(error) }),
        );
        try {
          const files = await api.models.hubFiles({ repo });
          if (serial === filesSerial) setHub({ files, loadingFiles: false });
        } catch (error) {
          if (serial === filesSerial) setHub({ loadingFiles: false, filesError: errorMessage(error) });
        }
      },

      closeRepo() {
        filesSerial++;
        setHub({ repo: null, files: null, loadingFiles: false, filesError: null, card: null, loadingCard: false, cardError: null });
      },

      async loadStarterFiles() {
        try {
          const files = await api.models.starterFiles();
          set({ starterFiles: Object.fromEntries(files.map((file) => [file.name, file])) });
        } catch {
          // The sizes stay unknown; the starters themselves still work.
        }
      },

      async loadHubToken() {
        try {
          set({ hubToken: await api.models.hubToken() });
        } catch {
          // Shown as unknown; saving still reports its own error.
        }
      },

      async saveHubToken(token) {
        try {
          set({ hubToken: await api.models.setHubToken({ token }), hubTokenError: null });
          // A repository refused for want of a token is read again with it.
          const { repo, filesError } = get().hub;
          if (repo && filesError) void get().openRepo(repo);
          return true;
        } catch (error) {
          set({ hubTokenError: errorMessage(error) });
          return false;
        }
      },

      async clearHubToken() {
        try {
          set({ hubToken: await api.models.clearHubToken(), hubTokenError: null });
          return true;
        } catch (error) {
          set({ hubTokenError: errorMessage(error) });
          return false;
        }
      },

      clearError() {
        set({ error: null });
      },
    };
  });
}
