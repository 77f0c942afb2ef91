import { randomUUID } from "node:crypto";
import type { GenerationResult, GenerationUsage, ToolCall } from "../../../shared/api/generation.js";

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

/** `msg_` and 24 random letters and digits, as Anthropic's ids look. */
export function newMessageId(): string {
  return `msg_${randomUUID().replace(/-/g, "").slice(0, 24)}`;
}

/** A tool call's id as Anthropic spells them (`toolu_…`); the door's `call_…` ids keep their random part. */
export function toToolUseId(callId: string): string {
  return callId.startsWith("toolu_") ? callId : `toolu_${callId.replace(/^call_/, "")}`;
}

/** Why the generation ended, in Anthropic's words (an aborted one ended its turn: the client is gone anyway). */
export function toStopReason(result: GenerationResult): AnthropicStopReason {
  if (result.finishReason === "length") return "max_tokens";
  if (result.finishReason === "tool_calls") return "tool_use";
  return result.stopSequence !== undefined ? "stop_sequence" : "end_turn";
}

/**
 * Anthropic's usage: as in its API, `input_tokens` are the prompt tokens evaluated and
 * `cache_read_input_tokens` those reused from the cache, so the prompt is their sum (what
 * count_tokens says).
 */
export function toAnthropicUsage(usage: GenerationUsage) {
  const cached = Math.min(usage.cachedPromptTokens ?? 0, usage.promptTokens);
  return {
    input_tokens: usage.promptTokens - cached,
    output_tokens: usage.completionTokens,
    ...(usage.cachedPromptTokens !== undefined ? { cache_read_input_tokens: usage.cachedPromptTokens } : {}),
  };
}

/** A call's arguments as the `input` object; anything but a JSON object (an upstream's bad text) is `{}`. */
function toolInput(call: ToolCall): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(call.arguments || "{}");
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The `tool_use` blocks of a result; with `disable_parallel_tool_use`, only the first call. */
export function toToolUseBlocks(calls: readonly ToolCall[] | undefined, single: boolean) {
  return (single ? (calls ?? []).slice(0, 1) : (calls ?? [])).map((call) => ({
    type: "tool_use" as const,
    id: toToolUseId(call.id),
    name: call.name,
    input: toolInput(call),
  }));
}

/**
 * The content blocks of a finished generation: thinking first (with an empty signature: a
 * local model signs nothing, and nothing checks it when the block is sent back), the text,
 * then the tool calls. A reply with nothing else still has its (empty) text block.
 */
export function toContentBlocks(result: GenerationResult, singleToolUse: boolean) {
  const toolUses = toToolUseBlocks(result.toolCalls, singleToolUse);
  return [
    ...(result.reasoning ? [{ type: "thinking" as const, thinking: result.reasoning, signature: "" }] : []),
    ...(result.text || toolUses.length === 0 ? [{ type: "text" as const, text: result.text }] : []),
    ...toolUses,
  ];
}

/** A non-streamed reply: Anthropic's Message object. */
export function toAnthropicMessage(id: string, model: string, result: GenerationResult, singleToolUse: boolean) {
  return {
    id,
    type: "message" as const,
    role: "assistant" as const,
    model,
    content: toContentBlocks(result, singleToolUse),
    stop_reason: toStopReason(result),
    stop_sequence: result.stopSequence ?? null,
    usage: toAnthropicUsage(result.usage),
  };
}
