import { useEffect } from "react";
import { ProgressBar } from "../../components/ProgressBar.js";
import { useAppStores, useChat, useModels, useSettings } from "../../app/StoresContext.js";
import { liveContextUsage } from "./liveStats.js";
import { countOf } from "../../lib/plural.js";

/** How much of the model's context the conversation fills, growing while a reply streams. */
export function ContextUsageBar() {
  const { chat } = useAppStores();
  const stored = useChat((state) => state.contextUsage);
  const streaming = useChat((state) => state.streaming);
  const activeId = useChat((state) => state.active?.id);
  const defaultModelId = useSettings((state) => state.settings?.defaultModelId);
  const modelId = useChat((state) => state.active?.modelId) ?? defaultModelId;
  // A remote model's or an alias's context is not known here: only an estimate is shown.
  const servedElsewhere = useModels((state) => state.catalog.some((entry) => entry.id === modelId && entry.kind !== "local"));
  // The model being loaded or unloaded elsewhere (Models screen, API, TTL) changes the context size: read it again.
  const loadedState = useModels((state) => state.loaded.find((model) => model.id === modelId)?.state ?? "unloaded");
  useEffect(() => {
    if (activeId !== undefined && loadedState !== "loading") void chat.getState().refreshContextUsage();
  }, [chat, activeId, loadedState]);
  const usage = liveContextUsage(stored, streaming, activeId);
  if (activeId === undefined || !usage) return null;
  if (usage.contextSize === null) {
    return (
      <span className="muted context-usage" data-testid="context-usage" data-used-tokens={usage.usedTokens}>
        {countOf(usage.usedTokens, "token")} · {servedElsewhere ? "served remotely" : "model not loaded"}
      </span>
    );
  }
  const share = usage.usedTokens / usage.contextSize;
  return (
    <div className="context-usage" data-testid="context-usage" data-used-tokens={usage.usedTokens}>
      <ProgressBar value={share} label="Context usage" tone={share > 0.9 ? "danger" : share > 0.7 ? "warning" : "accent"} />
      <span className="muted small">
        {usage.usedTokens.toLocaleString()} / {countOf(usage.contextSize, "token")}
      </span>
    </div>
  );
}
