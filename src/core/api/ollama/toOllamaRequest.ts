import type { z } from "zod";
import type { ChatGenerationOptions, ChatMessage, GenerationOptions, ReasoningOptions, ResponseFormat } from "../../../shared/api/generation.js";
import { InvalidArgumentError } from "../../errors.js";
import { REASONING_EFFORT_BUDGETS } from "../reasoningEffort.js";
import type { ollamaMessageSchema, ollamaOptionsSchema } from "./ollamaSchemas.js";

type OllamaOptions = z.infer<typeof ollamaOptionsSchema>;
type OllamaMessage = z.infer<typeof ollamaMessageSchema>;

/** The model a request names (`model`, or the older `name`), without Ollama's default `:latest` tag. */
export function requestedModel(body: { model?: string; name?: string }): string {
  const name = body.model ?? body.name;
  if (!name) throw new InvalidArgumentError("model is required", "model");
  return name.endsWith(":latest") ? name.slice(0, -":latest".length) : name;
}

/** The model's name exactly as the request gave it, which Ollama's answers echo. */
export function echoedModelName(body: { model?: string; name?: string }): string {
  const name = body.model ?? body.name;
  if (!name) throw new InvalidArgumentError("model is required", "model");
  return name;
}

/** Ollama `options` → engine options. num_predict -1 (endless) and -2 (fill the context) both mean "up to the context". */
export function toOllamaGenerationOptions(options: OllamaOptions): GenerationOptions {
  if (options.num_predict === 0) throw new InvalidArgumentError("options.num_predict must not be 0", "options.num_predict");
  const result: GenerationOptions = {};
  if (options.num_predict !== undefined && options.num_predict > 0) result.maxTokens = options.num_predict;
  if (options.temperature !== undefined) result.temperature = options.temperature;
  if (options.top_k !== undefined) result.topK = options.top_k;
  if (options.top_p !== undefined) result.topP = options.top_p;
  if (options.min_p !== undefined) result.minP = options.min_p;
  if (options.seed !== undefined) result.seed = options.seed >>> 0;
  if (options.stop !== undefined) result.stop = options.stop;
  if (options.repeat_penalty !== undefined) result.repeatPenalty = options.repeat_penalty;
  if (options.presence_penalty !== undefined) result.presencePenalty = options.presence_penalty;
  if (options.frequency_penalty !== undefined) result.frequencyPenalty = options.frequency_penalty;
  return result;
}

/** `think` → the thinking budget: true/false turn it on or off, a level bounds it. Absent: as the model does. */
export function toOllamaReasoning(think: boolean | "low" | "medium" | "high" | null | undefined): ReasoningOptions | undefined {
  if (think == null) return undefined;
  if (typeof think === "boolean") return { enabled: think };
  return REASONING_EFFORT_BUDGETS[think];
}

/** `format`: "json" → any JSON object; an object → that JSON schema. */
export function toOllamaResponseFormat(format: unknown): ResponseFormat | undefined {
  if (format === "json") return { type: "json_object" };
  if (format && typeof format === "object") return { type: "json_schema", schema: format as Record<string, unknown> };
  return undefined;
}

/**
 * Ollama messages → engine messages. Ollama's tool calls carry no ids, so each gets one and the
 * tool messages that follow an assistant's calls answer them in order.
 */
export function toOllamaChatMessages(messages: readonly OllamaMessage[]): ChatMessage[] {
  const result: ChatMessage[] = [];
  let pendingIds: string[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.images?.length) throw new InvalidArgumentError("images are not supported by this server", `messages[${index}].images`);
    if (message.role === "assistant" && message.tool_calls?.length) {
      const toolCalls = message.tool_calls.map((call, callIndex) => ({
        id: `call_${index}_${callIndex}`,
        name: call.function.name,
        arguments: JSON.stringify(call.function.arguments),
      }));
      pendingIds = toolCalls.map((call) => call.id);
      result.push({ role: "assistant", content: message.content, toolCalls });
    } else if (message.role === "tool") {
      const toolCallId = pendingIds.shift();
      if (!toolCallId) throw new InvalidArgumentError(`messages[${index}] is a tool message with no assistant tool call before it`, `messages[${index}]`);
      result.push({ role: "tool", content: message.content, toolCallId });
    } else {
      result.push({ role: message.role, content: message.content });
    }
  }
  return result;
}

export type { ChatGenerationOptions };
