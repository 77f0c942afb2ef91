import { randomUUID } from "node:crypto";
import type { ChatHistoryItem, ChatModelFunctions, GbnfJsonSchema, Llama, LlamaGrammar } from "node-llama-cpp";
import type { JsonSchema, ResponseFormat, ToolCall, ToolCallDelta, ToolDefinition } from "../../shared/api/generation.js";
import { InvalidArgumentError } from "../errors.js";
import { checkJsonSchemaLimits, JsonSchemaBudget } from "./jsonSchemaLimits.js";
import { markNormalizedJsonSchema, normalizeJsonSchema } from "./jsonSchemaSubset.js";

/** A new OpenAI-style tool call id. */
export function newToolCallId(): string {
  return `call_${randomUUID().replace(/-/g, "").slice(0, 24)}`;
}

/** The param naming a tool's parameters in errors. */
function toolParametersParam(index: number): string {
  return `tools[${index}].function.parameters`;
}

function hasParameters(tool: ToolDefinition): tool is ToolDefinition & { parameters: JsonSchema } {
  return tool.parameters !== undefined && Object.keys(tool.parameters).length > 0;
}

/** One budget for all tools of a request: their schemas end up in one grammar, so their sizes add up. */
function newToolsBudget(): JsonSchemaBudget {
  return new JsonSchemaBudget("the tools' parameters together");
}

/**
 * A grammar that constrains the reply to JSON (any object, or one matching a schema).
 * The schema is checked against the size limits before the grammar is built, so building
 * it stays bounded (node-llama-cpp does that synchronously, on the event loop).
 */
export async function createResponseGrammar(
  llama: Llama,
  format: ResponseFormat,
  param = "response_format.json_schema.schema",
): Promise<LlamaGrammar | undefined> {
  if (format.type === "text") return undefined;
  if (format.type === "json_object") return llama.getGrammarFor("json");
  const schema = normalizeJsonSchema(format.schema, param);
  // Client schemas are only known at run time; node-llama-cpp's generic types describe literal schemas.
  const createGrammar = llama.createGrammarForJsonSchema.bind(llama) as unknown as (schema: JsonSchema) => Promise<LlamaGrammar>;
  try {
    return await createGrammar(schema);
  } catch (error) {
    throw new InvalidArgumentError(`${param} is not supported: ${(error as Error).message}`, param);
  }
}

/** node-llama-cpp's function definitions for "auto" tool choice (the model decides in its own call syntax). */
export function toChatModelFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions {
  const budget = newToolsBudget();
  return Object.fromEntries(
    tools.map((tool, index) => [
      tool.name,
      {
        ...(tool.description ? { description: tool.description } : {}),
        ...(hasParameters(tool) ? { params: normalizeJsonSchema(tool.parameters, toolParametersParam(index), budget) as GbnfJsonSchema } : {}),
      },
    ]),
  );
}

/**
 * For tool_choice "required" or a named function, node-llama-cpp has no way to force a call,
 * so the reply is generated under a JSON-schema grammar of `{"name": ..., "arguments": {...}}`
 * for the allowed tools (what llama-server does with its tool grammars), after a system note
 * that documents them. The result is parsed back into a tool call.
 */
export function forcedToolCallSchema(tools: readonly ToolDefinition[]): JsonSchema {
  const budget = newToolsBudget();
  const variants = tools.map((tool, index) => ({
    type: "object",
    properties: {
      name: { const: tool.name },
      arguments: hasParameters(tool) ? normalizeJsonSchema(tool.parameters, toolParametersParam(index), budget) : { type: "object", properties: {} },
    },
    required: ["name", "arguments"],
  }));
  // Built from normalised parts only: the grammar step must not normalise (and count) it again.
  return markNormalizedJsonSchema(variants.length === 1 ? variants[0]! : { oneOf: variants });
}

/** Adds a system note documenting the tools to a history, before the first non-system turn. */
export function withForcedToolInstructions(history: ChatHistoryItem[], tools: readonly ToolDefinition[]): ChatHistoryItem[] {
  const documented = tools.map((tool) => ({ name: tool.name, description: tool.description ?? "", parameters: tool.parameters ?? {} }));
  const note =
    "Call exactly one of these tools. Reply only with a JSON object of the form " +
    '{"name": <tool name>, "arguments": <arguments object>}.\nTools: ' +
    JSON.stringify(documented);
  const firstSystem = history.findIndex((item) => item.type === "system");
  if (firstSystem >= 0) {
    const item = history[firstSystem]!;
    if (item.type === "system" && typeof item.text === "string") {
      const copy = [...history];
      copy[firstSystem] = { type: "system", text: `${item.text}\n\n${note}` };
      return copy;
    }
  }
  return [{ type: "system", text: note }, ...history];
}

/** Parses a grammar-constrained forced call. */
export function parseForcedToolCall(text: string): ToolCall {
  const parsed = JSON.parse(text) as { name: string; arguments: unknown };
  return { id: newToolCallId(), name: parsed.name, arguments: JSON.stringify(parsed.arguments ?? {}) };
}

/** The start of a forced call's JSON up to its arguments' value: `{"name": "<name>", "arguments": `. */
const FORCED_CALL_HEAD = /^\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*/;

/**
 * Turns a forced call's JSON, as the grammar generates it, into tool call pieces: once the
 * name is complete, the call's id and name, then each chunk's part of the arguments' value
 * (the wrapper's closing brace is not part of it), as OpenAI streams calls. A small scanner
 * tracks strings and nesting, so the arguments' end is found without re-parsing.
 */
export class ForcedToolCallStreamer {
  readonly id = newToolCallId();
  private text = "";
  private name?: string;
  /** Where the arguments' value starts in `text`, once the head is complete. */
  private argumentsStart = -1;
  /** Where it ends (exclusive), once closed. */
  private argumentsEnd = -1;
  /** How far the scanner has read, and its state. */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private emitted = 0;

  /** Takes the next chunk of generated text; returns the piece of the call it completes, if any. */
  push(chunk: string): ToolCallDelta | undefined {
    this.text += chunk;
    let head: ToolCallDelta | undefined;
    if (this.argumentsStart < 0) {
      const match = FORCED_CALL_HEAD.exec(this.text);
      if (!match) return undefined;
      try {
        this.name = JSON.parse(match[1]!) as string;
      } catch {
        return undefined;
      }
      this.argumentsStart = match[0].length;
      this.scanned = this.argumentsStart;
      this.emitted = this.argumentsStart;
      head = { index: 0, id: this.id, name: this.name, arguments: "" };
    }
    this.scan();
    const end = this.argumentsEnd >= 0 ? this.argumentsEnd : this.text.length;
    const piece = this.text.slice(this.emitted, end);
    this.emitted = Math.max(this.emitted, end);
    if (head) return { ...head, arguments: piece };
    return piece ? { index: 0, arguments: piece } : undefined;
  }

  /** The call as streamed (its arguments exactly the pieces' text); undefined before the name was complete. */
  call(): ToolCall | undefined {
    if (this.name === undefined) return undefined;
    const end = this.argumentsEnd >= 0 ? this.argumentsEnd : this.text.length;
    return { id: this.id, name: this.name, arguments: this.text.slice(this.argumentsStart, end).trimEnd() };
  }

  private scan(): void {
    for (; this.scanned < this.text.length && this.argumentsEnd < 0; this.scanned++) {
      const char = this.text[this.scanned]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (char === "\\") this.escaped = true;
        else if (char === '"') this.inString = false;
      } else if (char === '"') {
        this.inString = true;
      } else if (char === "{" || char === "[") {
        this.depth++;
      } else if (char === "}" || char === "]") {
        this.depth--;
        if (this.depth === 0) this.argumentsEnd = this.scanned + 1;
      }
    }
  }
}

/**
 * Checks tool definitions and picks the tools a choice allows. The picked tools' schemas are
 * checked against the size limits here, before the prompt that documents them is built.
 */
export function selectTools(tools: readonly ToolDefinition[], choice: "auto" | "none" | "required" | { name: string }): ToolDefinition[] {
  const selected = pickTools(tools, choice);
  const budget = newToolsBudget();
  for (const tool of selected) if (hasParameters(tool)) checkJsonSchemaLimits(tool.parameters, toolParametersParam(tools.indexOf(tool)), budget);
  return selected;
}

function pickTools(tools: readonly ToolDefinition[], choice: "auto" | "none" | "required" | { name: string }): ToolDefinition[] {
  const names = new Set<string>();
  for (const [index, tool] of tools.entries()) {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) {
      throw new InvalidArgumentError(`tools[${index}].function.name must be 1-64 letters, digits, '_' or '-'`, `tools[${index}].function.name`);
    }
    if (names.has(tool.name)) throw new InvalidArgumentError(`tools[${index}].function.name '${tool.name}' is repeated`, `tools[${index}].function.name`);
    names.add(tool.name);
  }
  if (choice === "none") return [];
  if (typeof choice === "object") {
    const tool = tools.find((candidate) => candidate.name === choice.name);
    if (!tool) throw new InvalidArgumentError(`tool_choice names '${choice.name}', which is not in tools`, "tool_choice");
    return [tool];
  }
  if (choice === "required" && tools.length === 0) throw new InvalidArgumentError("tool_choice 'required' needs tools", "tool_choice");
  return [...tools];
}
