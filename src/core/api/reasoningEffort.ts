import type { ReasoningOptions } from "../../shared/api/generation.js";

/** The effort levels OpenAI's `reasoning_effort` (and Ollama's `think` levels, a subset) name. */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"] as const;

export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * Thinking budgets of the effort levels, in tokens. OpenAI publishes none; these suit small
 * local models: "none" turns thinking off, "high" (and OpenAI's newer "xhigh") leave it bounded
 * only by max_tokens.
 */
export const REASONING_EFFORT_BUDGETS: Readonly<Record<ReasoningEffort, ReasoningOptions>> = {
  none: { enabled: false },
  minimal: { enabled: true, maxTokens: 256 },
  low: { enabled: true, maxTokens: 1024 },
  medium: { enabled: true, maxTokens: 4096 },
  high: { enabled: true },
  xhigh: { enabled: true },
};
