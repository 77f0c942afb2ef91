import type { LibraryModel, LoadedModelState } from "../../../../shared/api/library.js";
import type { CatalogEntry } from "../../../../shared/contract/index.js";

/** Models that can chat: usable, not an adapter, and not embedding-only. */
export function chatModels(library: LibraryModel[]): LibraryModel[] {
  return library.filter(
    (model) => model.status === "ok" && model.kind === "model" && (model.capabilities.length === 0 || model.capabilities.includes("chat") || model.capabilities.includes("completion")),
  );
}

/** One entry of a chat model picker. */
export interface ChatModelChoice {
  id: string;
  /** "local": in this machine's library; "remote": served by a remote provider; "alias": a route of the router. */
  kind: CatalogEntry["kind"];
  /** Who serves it ("local" first); for remote models and aliases, what the picker shows beside the id. */
  providers: string[];
}

/**
 * Everything a conversation can use: this machine's chat models (from the library, which knows
 * which ones are usable), then the catalogue's remote models and aliases that chat, each list
 * sorted by id. A model both here and at a remote is listed once, as this machine's.
 */
export function chatModelChoices(library: LibraryModel[], catalog: CatalogEntry[]): ChatModelChoice[] {
  const local = chatModels(library).map((model): ChatModelChoice => ({ id: model.id, kind: "local", providers: ["local"] }));
  const localIds = new Set(local.map((choice) => choice.id));
  const elsewhere = catalog
    .filter((entry) => entry.kind !== "local" && entry.capabilities.chat && !localIds.has(entry.id))
    .map((entry): ChatModelChoice => ({ id: entry.id, kind: entry.kind, providers: [...entry.providers] }))
    .sort((a, b) => (a.kind === b.kind ? a.id.localeCompare(b.id) : a.kind === "remote" ? -1 : 1));
  return [...local, ...elsewhere];
}

/** What a picker shows beside a choice's id: "· remote: upstream-1", "· alias: local, openai". */
export function choiceDetail(choice: ChatModelChoice): string {
  if (choice.kind === "local") return "";
  return ` · ${choice.kind}: ${choice.providers.join(", ")}`;
}

/** The model a new conversation uses: the configured default, else a loaded one, else the first usable one. */
export function pickDefaultModel(library: LibraryModel[], loaded: LoadedModelState[], configured?: string): string | undefined {
  const usable = chatModels(library);
  if (configured && usable.some((model) => model.id === configured)) return configured;
  const loadedUsable = loaded.find((state) => state.state === "loaded" && usable.some((model) => model.id === state.id));
  return loadedUsable?.id ?? usable[0]?.id ?? configured;
}
