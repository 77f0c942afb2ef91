import type { ChatGenerationOptions, ChatMessage, ToolDefinition } from "../../../shared/api/generation.js";
import { InvalidArgumentError, UnsupportedError } from "../../errors.js";
import { toGenerationOptions } from "../openai/toEngineRequest.js";
import { REASONING_EFFORT_BUDGETS } from "../reasoningEffort.js";
import { newResponseId, type WireObject } from "./responseObjects.js";
import type { FunctionTool, ResponseInputItem, ResponseRequest } from "./responseRequestSchema.js";

/** One conversation turn for the door: the prompt, the options, and the items it answers. */
export interface ChatTurn {
  messages: ChatMessage[];
  options: ChatGenerationOptions;
  /** The earlier turns' items, then this turn's input, each with an id: what `input_items` lists and the next turn continues. */
  inputItems: WireObject[];
}

/** Fields we accept for compatibility but cannot honour: a 400 naming them, never silently ignored. */
function rejectUnsupported(request: ResponseRequest): void {
  const refuse = (param: string, message: string) => {
    throw new UnsupportedError(message, param);
  };
  if (request.background) refuse("background", "'background' responses are not supported by this server");
  if (request.conversation != null) refuse("conversation", "'conversation' is not supported by this server: continue with 'previous_response_id'");
  if (request.prompt != null) refuse("prompt", "Prompt templates ('prompt') are not supported by this server");
  if (request.include?.length) refuse("include", `'include' value '${request.include[0]}' is not supported by this server`);
  if (request.reasoning?.summary != null || request.reasoning?.generate_summary != null) {
    refuse("reasoning.summary", "Reasoning summaries are not supported by this server: the thinking comes as 'reasoning_text' content");
  }
  if (request.top_logprobs) refuse("top_logprobs", "'top_logprobs' is not supported by this server");
  if (request.max_tool_calls != null) refuse("max_tool_calls", "'max_tool_calls' is not supported by this server");
  if (request.truncation === "auto") refuse("truncation", "'truncation: auto' is not supported by this server");
  if (request.text?.verbosity != null && request.text.verbosity !== "medium") refuse("text.verbosity", "'text.verbosity' is not supported by this server");
}

function toTools(request: ResponseRequest): Pick<ChatGenerationOptions, "tools" | "toolChoice"> {
  const tools = (request.tools ?? []).map((tool, index): ToolDefinition => {
    if (tool.type !== "function") {
      throw new UnsupportedError(`The built-in tool '${tool.type}' is not supported by this server: only 'function' tools are`, `tools[${index}].type`);
    }
    const { name, description, parameters } = tool as FunctionTool;
    return {
      name,
      ...(description ? { description } : {}),
      ...(parameters ? { parameters } : {}),
    };
  });
  const choice = request.tool_choice;
  if (choice == null || choice === "auto" || choice === "none") return tools.length ? { tools, ...(choice ? { toolChoice: choice } : {}) } : {};
  if (typeof choice === "object" && (choice.type !== "function" || !("name" in choice))) {
    throw new UnsupportedError(`'tool_choice' of type '${choice.type}' is not supported by this server`, "tool_choice");
  }
  if (!tools.length) throw new UnsupportedError("'tool_choice' needs 'tools'", "tool_choice");
  if (choice === "required") return { tools, toolChoice: "required" };
  const name = String(choice.name);
  if (!tools.some((tool) => tool.name === name)) throw new InvalidArgumentError(`'tool_choice' names '${name}', which is not in 'tools'`, "tool_choice.name");
  return { tools, toolChoice: { name } };
}

/** The request's options for the door: sampling, output format, tools, thinking. */
export function toResponseGenerationOptions(request: ResponseRequest): ChatGenerationOptions {
  rejectUnsupported(request);
  const options: ChatGenerationOptions = {
    ...toGenerationOptions(
      { temperature: request.temperature, top_p: request.top_p, seed: request.seed, top_k: request.top_k, min_p: request.min_p, repeat_penalty: request.repeat_penalty },
      request.max_output_tokens,
    ),
    ...toTools(request),
  };
  const format = request.text?.format;
  if (format?.type === "json_object") options.responseFormat = { type: "json_object" };
  if (format?.type === "json_schema") options.responseFormat = { type: "json_schema", schema: format.schema, name: format.name };
  const effort = request.reasoning?.effort;
  if (effort) options.reasoning = REASONING_EFFORT_BUDGETS[effort];
  return options;
}

type TextPart = { type: string; text?: string; refusal?: string };

const partsOf = (content: string | readonly TextPart[], role: string): TextPart[] =>
  typeof content === "string" ? [{ type: role === "assistant" ? "output_text" : "input_text", text: content }] : [...content];

const textOf = (parts: readonly TextPart[]) => parts.map((part) => part.text ?? part.refusal ?? "").join("");

/** A request's input as stored items, each with an id. */
export function toInputItems(input: readonly ResponseInputItem[]): WireObject[] {
  return input.map((item): WireObject => {
    switch (item.type) {
      case "message":
        return { type: "message", id: item.id ?? newResponseId("msg"), role: item.role, content: partsOf(item.content, item.role) };
      case "function_call":
        return { type: "function_call", id: item.id ?? newResponseId("fc"), call_id: item.call_id, name: item.name, arguments: item.arguments, status: "completed" };
      case "function_call_output":
        return {
          type: "function_call_output",
          id: item.id ?? newResponseId("fco"),
          call_id: item.call_id,
          output: typeof item.output === "string" ? item.output : textOf(item.output),
        };
      case "reasoning":
        return { ...item, id: item.id ?? newResponseId("rs") };
    }
  });
}

/**
 * Items (our own stored form, see {@link toInputItems}) → the door's messages: "developer" is
 * a system message for local models, function calls join the assistant message before them,
 * their outputs are tool messages, and past thinking is left out.
 */
export function toChatMessages(instructions: string | null | undefined, items: readonly WireObject[]): ChatMessage[] {
  const messages: ChatMessage[] = instructions ? [{ role: "system", content: instructions }] : [];
  for (const item of items) {
    if (item.type === "message") {
      const role = item.role === "developer" || item.role === "system" ? "system" : item.role === "assistant" ? "assistant" : "user";
      messages.push({ role, content: textOf(item.content as TextPart[]) });
    } else if (item.type === "function_call") {
      const call = { id: String(item.call_id), name: String(item.name), arguments: String(item.arguments) };
      const last = messages.at(-1);
      if (last?.role === "assistant") last.toolCalls = [...(last.toolCalls ?? []), call];
      else messages.push({ role: "assistant", content: "", toolCalls: [call] });
    } else if (item.type === "function_call_output") {
      messages.push({ role: "tool", content: String(item.output), toolCallId: String(item.call_id) });
    }
  }
  return messages;
}

/** The turn a request makes after `history` (the previous response's input items and output). */
export function toChatTurn(request: ResponseRequest, history: readonly WireObject[] = []): ChatTurn {
  const options = toResponseGenerationOptions(request);
  const inputItems = [...history, ...toInputItems(request.input)];
  const messages = toChatMessages(request.instructions, inputItems);
  if (!messages.some((message) => message.role !== "system")) throw new InvalidArgumentError("'input' must hold at least one message or item", "input");
  return { messages, options, inputItems };
}
