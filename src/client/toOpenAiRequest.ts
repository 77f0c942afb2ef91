import type OpenAI from "openai";
import type { AIMessage, AIRequest } from "./types.js";

/** OpenAI's message for one of ours. */
export function toOpenAiMessage(message: AIMessage): OpenAI.ChatCompletionMessageParam {
  switch (message.role) {
    case "tool":
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content };
    case "assistant":
      return {
        role: "assistant",
        content: message.content,
        ...(message.toolCalls?.length
          ? { tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: "function" as const, function: { name: call.name, arguments: call.arguments } })) }
          : {}),
      };
    default:
      return { role: message.role, content: message.content };
  }
}

/** The body of `/v1/chat/completions` for a request (without `stream`). */
export function toOpenAiChatBody(request: AIRequest, model: string): OpenAI.ChatCompletionCreateParamsNonStreaming {
  const { toolChoice } = request;
  const body: OpenAI.ChatCompletionCreateParamsNonStreaming & { top_k?: number; reasoning?: { enabled?: boolean } } = {
    model,
    messages: request.messages.map(toOpenAiMessage),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    // Not in OpenAI's API; the server (and llama-server) read it.
    ...(request.topK !== undefined ? { top_k: request.topK } : {}),
    ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
    ...(request.seed !== undefined ? { seed: request.seed } : {}),
    ...(request.stop?.length ? { stop: request.stop } : {}),
    ...(request.tools?.length
      ? {
          tools: request.tools.map((tool) => ({
            type: "function" as const,
            function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.parameters ?? { type: "object" } },
          })),
        }
      : {}),
    ...(toolChoice !== undefined ? { tool_choice: typeof toolChoice === "string" ? toolChoice : { type: "function" as const, function: { name: toolChoice.name } } } : {}),
    ...(request.jsonSchema
      ? {
          response_format: {
            type: "json_schema" as const,
            json_schema: { name: request.jsonSchema.name ?? "response", schema: request.jsonSchema.schema, ...(request.jsonSchema.strict !== undefined ? { strict: request.jsonSchema.strict } : {}) },
          },
        }
      : {}),
    ...(request.reasoning?.enabled !== undefined ? { reasoning_effort: request.reasoning.enabled ? ("medium" as const) : ("none" as const) } : {}),
  };
  return body;
}
