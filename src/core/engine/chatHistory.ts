import type { ChatHistoryItem, ChatModelFunctionCall } from "node-llama-cpp";
import type { ChatMessage } from "../../shared/api/generation.js";
import { InvalidArgumentError } from "../errors.js";

function parseArguments(text: string, param: string): unknown {
  try {
    return JSON.parse(text || "{}");
  } catch {
    throw new InvalidArgumentError(`${param} is not valid JSON`, param);
  }
}

function parseResult(content: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

/**
 * True for a last message that the reply continues rather than answers: an assistant message
 * with text and no tool calls (a "prefill", as Anthropic's Messages API, llama-server and Ollama
 * treat it).
 */
export function isAssistantPrefill(message: ChatMessage | undefined): boolean {
  return message?.role === "assistant" && message.content.length > 0 && (message.toolCalls ?? []).length === 0;
}

/**
 * Converts API chat messages to node-llama-cpp's chat history, ending with the model turn the
 * reply fills in: an empty one, or the last message's when it is a prefill
 * ({@link isAssistantPrefill}; LlamaChat then continues that text and answers only the rest). Consecutive system messages are merged; an assistant's tool
 * calls are paired with the tool messages that answer them (by id), as node-llama-cpp renders
 * a call and its result together in the model's own format.
 */
export function toChatHistory(messages: readonly ChatMessage[]): ChatHistoryItem[] {
  if (messages.length === 0) throw new InvalidArgumentError("messages must contain at least one message", "messages");
  const history: ChatHistoryItem[] = [];
  const answered = new Set<number>();
  for (const [index, message] of messages.entries()) {
    const previous = history.at(-1);
    switch (message.role) {
      case "system":
        if (previous?.type === "system" && typeof previous.text === "string") previous.text += `\n\n${message.content}`;
        else history.push({ type: "system", text: message.content });
        break;
      case "user":
        history.push({ type: "user", text: message.content });
        break;
      case "assistant": {
        const response: (string | ChatModelFunctionCall)[] = message.content ? [message.content] : [];
        for (const [callIndex, call] of (message.toolCalls ?? []).entries()) {
          const answerIndex = messages.findIndex((candidate, i) => i > index && candidate.role === "tool" && candidate.toolCallId === call.id);
          if (answerIndex < 0) {
            throw new InvalidArgumentError(
              `messages[${index}].tool_calls[${callIndex}] (id '${call.id}') has no tool message answering it`,
              `messages[${index}].tool_calls`,
            );
          }
          answered.add(answerIndex);
          response.push({
            type: "functionCall",
            name: call.name,
            params: parseArguments(call.arguments, `messages[${index}].tool_calls[${callIndex}].function.arguments`),
            result: parseResult(messages[answerIndex]!.content),
            ...(callIndex === 0 ? { startsNewChunk: true } : {}),
          });
        }
        history.push({ type: "model", response });
        break;
      }
      case "tool":
        if (!answered.has(index)) {
          throw new InvalidArgumentError(
            `messages[${index}] is a tool message that answers no earlier assistant tool call (tool_call_id '${message.toolCallId ?? ""}')`,
            `messages[${index}].tool_call_id`,
          );
        }
        break;
      default:
        throw new InvalidArgumentError(`messages[${index}].role is not a known role`, `messages[${index}].role`);
    }
  }
  if (!isAssistantPrefill(messages.at(-1))) history.push({ type: "model", response: [] });
  return history;
}
