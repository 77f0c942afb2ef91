import type { ChatGenerationOptions, ChatMessage, ToolChoice, ToolDefinition } from "../../../shared/api/generation.js";
import { UnsupportedError } from "../../errors.js";
import { REASONING_EFFORT_BUDGETS } from "../reasoningEffort.js";
import type { AnthropicContentBlock, AnthropicMessage, CountTokensRequest, MessagesRequest } from "./messagesRequestSchema.js";

type TextBlock = Extract<AnthropicContentBlock, { type: "text" }>;
type ToolResultBlock = Extract<AnthropicContentBlock, { type: "tool_result" }>;

const joinText = (blocks: readonly { text: string }[]): string => blocks.map((block) => block.text).join("\n\n");

/** A tool result's text; an error result says so, as the door's tool messages have no error flag. */
function toolResultText(block: ToolResultBlock): string {
  const text = block.content === undefined ? "" : joinText(block.content);
  return block.is_error ? `Error: ${text}` : text;
}

/**
 * One Anthropic message → the door's messages. A user turn's `tool_result` blocks become tool
 * messages (in order, before the turn's text, as Anthropic requires them first); an assistant
 * turn's `tool_use` blocks become its tool calls. Thinking blocks are dropped: chat templates
 * leave earlier turns' thinking out of the prompt anyway.
 */
function toChatMessagesOf(message: AnthropicMessage): ChatMessage[] {
  const texts = message.content.filter((block): block is TextBlock => block.type === "text");
  if (message.role === "assistant") {
    const calls = message.content.flatMap((block) =>
      block.type === "tool_use" ? [{ id: block.id, name: block.name, arguments: JSON.stringify(block.input) }] : [],
    );
    return [{ role: "assistant", content: joinText(texts), ...(calls.length > 0 ? { toolCalls: calls } : {}) }];
  }
  const results = message.content.flatMap((block): ChatMessage[] =>
    block.type === "tool_result" ? [{ role: "tool", content: toolResultText(block), toolCallId: block.tool_use_id }] : [],
  );
  // A turn of only tool results has no user text to add.
  return results.length > 0 && texts.length === 0 ? results : [...results, { role: "user", content: joinText(texts) }];
}

/** The system prompt and the conversation, as the door's messages. */
export function toChatMessages(request: Pick<CountTokensRequest, "system" | "messages">): ChatMessage[] {
  const system = request.system === undefined ? undefined : typeof request.system === "string" ? request.system : joinText(request.system);
  return [...(system ? [{ role: "system" as const, content: system }] : []), ...request.messages.flatMap(toChatMessagesOf)];
}

/** Anthropic's tool choice → the door's ("any" is "required"). */
function toToolChoice(choice: NonNullable<CountTokensRequest["tool_choice"]>): ToolChoice {
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { name: choice.name };
  }
}

/** The prompt-shaping options (tools, tool choice, thinking, output format): all that count_tokens needs besides the messages. */
export function toPromptOptions(request: CountTokensRequest): ChatGenerationOptions {
  const options: ChatGenerationOptions = {};
  if (request.tools?.length) {
    options.tools = request.tools.map(
      (tool): ToolDefinition => ({ name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.input_schema }),
    );
    if (request.tool_choice) options.toolChoice = toToolChoice(request.tool_choice);
  } else if (request.tool_choice && (request.tool_choice.type === "any" || request.tool_choice.type === "tool")) {
    throw new UnsupportedError("'tool_choice' needs 'tools'", "tool_choice");
  }
  const thinking = request.thinking;
  const effort = request.output_config?.effort;
  if (thinking?.type === "disabled") options.reasoning = { enabled: false };
  else if (thinking?.type === "enabled") options.reasoning = { enabled: true, maxTokens: thinking.budget_tokens };
  // Adaptive (or absent) thinking: bounded by the effort's budget if one is given, else as the template does it.
  else if (effort) options.reasoning = REASONING_EFFORT_BUDGETS[effort === "xhigh" || effort === "max" ? "high" : effort];
  else if (thinking) options.reasoning = { enabled: true };
  const format = request.output_config?.format;
  if (format) options.responseFormat = { type: "json_schema", schema: format.schema };
  return options;
}

/** Every option of a `/v1/messages` request, as the door's chat options. */
export function toChatGenerationOptions(request: MessagesRequest): ChatGenerationOptions {
  return {
    ...toPromptOptions(request),
    maxTokens: request.max_tokens,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.top_p !== undefined ? { topP: request.top_p } : {}),
    ...(request.top_k !== undefined ? { topK: request.top_k } : {}),
    ...(request.stop_sequences?.length ? { stop: request.stop_sequences } : {}),
  };
}
