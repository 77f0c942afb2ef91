import { useAppStores, useChat, useModels, useSettings } from "../../app/StoresContext.js";
import { routeHash } from "../../app/router.js";
import { chatModelChoices, choiceDetail, pickDefaultModel, type ChatModelChoice } from "../models/modelChoice.js";

const GROUP_LABELS: Record<ChatModelChoice["kind"], string> = { local: "This machine", remote: "Remote providers", alias: "Router aliases" };

/** What a local model's option says of its residency, kept current by the models store's loaded-models event. */
function residencySuffix(state: "loading" | "loaded" | "unloading" | undefined): string {
  return state === "loaded" ? " · loaded" : state === "loading" ? " · loading…" : "";
}

/** Picks the open conversation's model (or the model of the next new one): this machine's, remote ones and aliases. */
export function ModelPicker() {
  const { chat } = useAppStores();
  const library = useModels((state) => state.library);
  const loaded = useModels((state) => state.loaded);
  const catalog = useModels((state) => state.catalog);
  const configured = useSettings((state) => state.settings?.defaultModelId);
  const chosen = useChat((state) => (state.active ? state.active.modelId : state.preferredModelId));
  const hasActive = useChat((state) => state.active !== null);
  const choices = chatModelChoices(library, catalog);
  // A new conversation gets the default model; show it as the choice.
  const value = chosen ?? (hasActive ? undefined : pickDefaultModel(library, loaded, configured)) ?? "";
  if (choices.length === 0) {
    return (
      <p className="muted model-picker-empty" data-testid="no-models">
        No models yet. <a href={routeHash({ screen: "models" })}>Get one on the Models screen</a> or add a provider on the{" "}
        <a href={routeHash({ screen: "server" })}>Server screen</a>.
      </p>
    );
  }
  const option = (choice: ChatModelChoice) => (
    <option key={choice.id} value={choice.id}>
      {choice.id}
      {choice.kind === "local" ? residencySuffix(loaded.find((state) => state.id === choice.id)?.state) : choiceDetail(choice)}
    </option>
  );
  const kinds = [...new Set(choices.map((choice) => choice.kind))];
  return (
    <label className="field field-inline model-picker">
      <span className="field-label">Model</span>
      <select value={value} onChange={(event) => void chat.getState().setModel(event.target.value)} data-testid="model-picker">
        {!value && <option value="">Choose a model</option>}
        {value && !choices.some((choice) => choice.id === value) && <option value={value}>{value} (missing)</option>}
        {kinds.length === 1
          ? choices.map(option)
          : kinds.map((kind) => (
              <optgroup key={kind} label={GROUP_LABELS[kind]}>
                {choices.filter((choice) => choice.kind === kind).map(option)}
              </optgroup>
            ))}
      </select>
    </label>
  );
}
