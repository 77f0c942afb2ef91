import type { LibraryModel, LoadedModelState } from "../../../../shared/api/library.js";

/** Models that can chat: usable, not an adapter, and not embedding-only. */
export function chatModels(library: LibraryModel[]): LibraryModel[] {
  return library.filter(
    (model) => model.status === "ok" && model.kind === "model" && (model.capabilities.length === 0 || model.capabilities.includes("chat") || model.capabilities.includes("completion")),
  );
}

/** The model a new conversation uses: the configured default, else a loaded one, else the first usable one. */
export function pickDefaultModel(library: LibraryModel[], loaded: LoadedModelState[], configured?: string): string | undefined {
  const usable = chatModels(library);
  if (configured && usable.some((model) => model.id === configured)) return configured;
  const loadedUsable = loaded.find((state) => state.state === "loaded" && usable.some((model) => model.id === state.id));
  return loadedUsable?.id ?? usable[0]?.id ?? configured;
}
