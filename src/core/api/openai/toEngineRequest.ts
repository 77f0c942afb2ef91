import type {
  ChatGenerationOptions,
  ChatMessage,
  GenerationOptions,
  ResponseFormat,
  ToolChoice,
  ToolDefinition,
} from "../../../shared/api/generation.js";
import { UnsupportedError } from "../../errors.js";
import { REASONING_EFFORT_BUDGETS } from "../reasoningEffort.js";
import type { ChatCompletionRequest, CompletionRequest, OpenAiChatMessage } from "./chatCompletionSchema.js";

type SamplingRequest = Pick<
  ChatCompletionRequest,
  | "max_tokens" | "temperature" | "top_p" | "seed" | "stop" | "presence_penalty" | "frequency_penalty"
  | "top_k" | "min_p" | "repeat_penalty" | "ignore_eos" | "speculative" | "n" | "logprobs" | "top_logprobs" | "logit_bias"
>;

/** Options we accept for compatibility but cannot honour: a clear 400 instead of silently ignoring them. */
function rejectUnsupported(request: SamplingRequest): void {
  if (request.n != null && request.n !== 1) throw new UnsupportedError("'n' must be 1: this server returns one choice per request", "n");
  if (request.logprobs) throw new UnsupportedError("'logprobs' is not supported by this server", "logprobs");
  // 0 asks for no alternatives: it changes nothing, so it is accepted (as `logprobs: false` is).
  if (request.top_logprobs != null && request.top_logprobs !== 0) throw new UnsupportedError("'top_logprobs' is not supported by this server", "top_logprobs");
  if (request.logit_bias && Object.keys(request.logit_bias).length > 0) {
    throw new UnsupportedError("'logit_bias' is not supported by this server", "logit_bias");
  }
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined && field !== null)) as T;
}

/** Sampling options shared by chat and text completions. */
export function toGenerationOptions(request: SamplingRequest, maxTokens = request.max_tokens): GenerationOptions {
  rejectUnsupported(request);
  return definedOnly<GenerationOptions>({
    maxTokens: maxTokens ?? undefined,
    temperature: request.temperature ?? undefined,
    topP: request.top_p ?? undefined,
    topK: request.top_k ?? undefined,
    minP: request.min_p ?? undefined,
    repeatPenalty: request.repeat_penalty ?? undefined,
    presencePenalty: request.presence_penalty ?? undefined,
    frequencyPenalty: request.frequency_penalty ?? undefined,
    // OpenAI seeds are 64-bit; llama.cpp takes 32 bits.
    seed: request.seed == null ? undefined : Number(BigInt.asUintN(32, BigInt(request.seed))),
    stop: request.stop == null ? undefined : typeof request.stop === "string" ? [request.stop] : request.stop,
    ignoreEos: request.ignore_eos ?? undefined,
    speculative: request.speculative ?? undefined,
  });
}

function contentText(content: OpenAiChatMessage["content"]): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content.map((part) => ("text" in part ? part.text : "")).join("");
}

/** OpenAI messages → engine messages ("developer" is a system message for local models). */
export function toChatMessages(messages: readonly OpenAiChatMessage[]): ChatMessage[] {
  return messages.map((message): ChatMessage => {
    switch (message.role) {
      case "system":
      case "developer":
        return { role: "system", content: contentText(message.content) };
      case "user":
        return { role: "user", content: contentText(message.content) };
      case "assistant":
        return {
          role: "assistant",
          content: contentText(message.content),
          ...(message.tool_calls?.length
            ? { toolCalls: message.tool_calls.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments })) }
            : {}),
        };
      case "tool":
        return { role: "tool", content: contentText(message.content), toolCallId: message.tool_call_id };
    }
  });
}

/** The chat-only options: output format, tools. */
export function toChatGenerationOptions(request: ChatCompletionRequest): ChatGenerationOptions {
  if (request.modalities && request.modalities.some((modality) => modality !== "text")) {
    throw new UnsupportedError("Only the 'text' modality is supported by this server", "modalities");
  }
  if (request.audio != null) throw new UnsupportedError("'audio' output is not supported by this server", "audio");
  const options: ChatGenerationOptions = toGenerationOptions(request, request.max_completion_tokens ?? request.max_tokens);
  const reasoning = toReasoningOptions(request);
  if (reasoning) options.reasoning = reasoning;
  const format = request.response_format;
  if (format && format.type !== "text") {
    const responseFormat: ResponseFormat =
      format.type === "json_object" || !format.json_schema.schema
        ? { type: "json_object" }
        : { type: "json_schema", schema: format.json_schema.schema, name: format.json_schema.name };
    options.responseFormat = responseFormat;
  }
  if (request.tools?.length) {
    options.tools = request.tools.map(
      (tool): ToolDefinition => ({
        name: tool.function.name,
        ...(tool.function.description ? { description: tool.function.description } : {}),
        ...(tool.function.parameters ? { parameters: tool.function.parameters } : {}),
      }),
    );
    const choice = request.tool_choice;
    if (choice) options.toolChoice = typeof choice === "string" ? (choice as ToolChoice) : { name: choice.function.name };
  } else if (request.tool_choice && request.tool_choice !== "none" && request.tool_choice !== "auto") {
    throw new UnsupportedError("'tool_choice' needs 'tools'", "tool_choice");
  }
  return options;
}

/** `reasoning_effort` or our `reasoning` object → the thinking budget; an exact `max_tokens` wins over a level. */
function toReasoningOptions(request: ChatCompletionRequest): ChatGenerationOptions["reasoning"] {
  const effort = request.reasoning?.effort ?? request.reasoning_effort;
  const options = { ...(effort ? REASONING_EFFORT_BUDGETS[effort] : {}) };
  if (request.reasoning?.enabled != null) options.enabled = request.reasoning.enabled;
  if (request.reasoning?.max_tokens != null) options.maxTokens = request.reasoning.max_tokens;
  return Object.keys(options).length > 0 ? options : undefined;
}

/** Text completion options; `echo`, `best_of` > 1 and `suffix` are refused. */
export function toCompletionOptions(request: CompletionRequest): GenerationOptions {
  if (request.echo) throw new UnsupportedError("'echo' is not supported by this server", "echo");
  if (request.best_of != null && request.best_of !== 1) throw new UnsupportedError("'best_of' must be 1", "best_of");
  if (request.suffix) throw new UnsupportedError("'suffix' (fill-in-the-middle) is not supported by this server", "suffix");
  return toGenerationOptions(request);
}
