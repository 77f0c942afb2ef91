import type { ChatHistoryItem, ChatWrapper } from "node-llama-cpp";
import { z } from "zod";
import type { ReasoningOptions } from "../../shared/api/generation.js";
import { InvalidArgumentError } from "../errors.js";

const reasoningOptionsSchema = z
  .object({
    enabled: z.boolean().optional(),
    maxTokens: z.number().int().min(0).optional(),
  })
  .strict();

/**
 * Validates a request's reasoning options.
 * @throws InvalidArgumentError naming the bad field.
 */
export function resolveReasoningOptions(input: unknown): ReasoningOptions {
  const parsed = reasoningOptionsSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = ["reasoning", ...issue.path.map(String)].join(".");
    throw new InvalidArgumentError(`Invalid option '${param}': ${issue.message}`, param);
  }
  return parsed.data;
}

/** Whether the chat wrapper knows a thought section in the model's output (Qwen3, DeepSeek-R1, gpt-oss, ...). */
export function hasThoughtSegments(wrapper: ChatWrapper): boolean {
  return wrapper.settings.segments?.thought != null;
}

/** Whether the model should think at all: not when turned off or given no budget. */
export function thinkingWanted(options: ReasoningOptions): boolean {
  return options.enabled !== false && options.maxTokens !== 0;
}

/**
 * node-llama-cpp's `budgets.thoughtTokens`: `Infinity` is no limit (its own default would be
 * half of the context). When the budget is spent, it closes the thought and the model answers.
 */
export function thoughtTokenBudget(options: ReasoningOptions): number {
  if (!thinkingWanted(options)) return 0;
  return options.maxTokens ?? Number.POSITIVE_INFINITY;
}

/**
 * The history with the reply to fill in starting with an empty, closed thought: the model
 * answers at once (as Qwen3's `enable_thinking=false` renders it). This also keeps a grammar
 * (JSON formats, forced tool calls) on the answer: a template that opens the thought in the
 * prompt would otherwise have the grammar's output land in the thought. A prefilled reply
 * (text already there, no thought) gets the closed thought before its text.
 */
export function withoutThinking(history: readonly ChatHistoryItem[]): ChatHistoryItem[] {
  const last = history.at(-1);
  if (last?.type !== "model" || last.response.some((item) => typeof item !== "string")) return [...history];
  return [...history.slice(0, -1), { type: "model", response: [{ type: "segment", segmentType: "thought", text: "", ended: true }, ...last.response] }];
}
