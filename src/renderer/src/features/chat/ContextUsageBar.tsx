import { ProgressBar } from "../../components/ProgressBar.js";
import { useChat, useModels } from "../../app/StoresContext.js";

/** How much of the model's context the conversation fills. */
export function ContextUsageBar() {
  const usage = useChat((state) => state.contextUsage);
  const hasActive = useChat((state) => state.active !== null);
  const modelId = useChat((state) => state.active?.modelId);
  // A remote model's or an alias's context is not known here: only an estimate is shown.
  const servedElsewhere = useModels((state) => state.catalog.some((entry) => entry.id === modelId && entry.kind !== "local"));
  if (!hasActive || !usage) return null;
  if (usage.contextSize === null) {
    return (
      <span className="muted context-usage" data-testid="context-usage">
        {usage.usedTokens.toLocaleString()} tokens · {servedElsewhere ? "served remotely" : "model not loaded"}
      </span>
    );
  }
  const share = usage.usedTokens / usage.contextSize;
  return (
    <div className="context-usage" data-testid="context-usage">
      <ProgressBar value={share} label="Context usage" tone={share > 0.9 ? "danger" : share > 0.7 ? "warning" : "accent"} />
      <span className="muted small">
        {usage.usedTokens.toLocaleString()} / {usage.contextSize.toLocaleString()} tokens
      </span>
    </div>
  );
}
