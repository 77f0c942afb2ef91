import { useAppStores, useChat, useModels, useSettings } from "../../app/StoresContext.js";
import { routeHash } from "../../app/router.js";
import { chatModels, pickDefaultModel } from "../models/modelChoice.js";

/** Picks the open conversation's model (or the model of the next new one). */
export function ModelPicker() {
  const { chat } = useAppStores();
  const library = useModels((state) => state.library);
  const loaded = useModels((state) => state.loaded);
  const configured = useSettings((state) => state.settings?.defaultModelId);
  const chosen = useChat((state) => (state.active ? state.active.modelId : state.preferredModelId));
  const hasActive = useChat((state) => state.active !== null);
  const usable = chatModels(library);
  // A new conversation gets the default model; show it as the choice.
  const value = chosen ?? (hasActive ? undefined : pickDefaultModel(library, loaded, configured)) ?? "";
  if (usable.length === 0) {
    return (
      <p className="muted model-picker-empty" data-testid="no-models">
        No models yet. <a href={routeHash({ screen: "models" })}>Get one on the Models screen.</a>
      </p>
    );
  }
  return (
    <label className="field field-inline model-picker">
      <span className="field-label">Model</span>
      <select value={value} onChange={(event) => void chat.getState().setModel(event.target.value)} data-testid="model-picker">
        {!value && <option value="">Choose a model</option>}
        {value && !usable.some((model) => model.id === value) && <option value={value}>{value} (missing)</option>}
        {usable.map((model) => (
          <option key={model.id} value={model.id}>
            {model.id}
            {loaded.some((state) => state.id === model.id && state.state === "loaded") ? " · loaded" : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
