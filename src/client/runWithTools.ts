import { RequestAbortedError, toClientError } from "./errors.js";
import type { LlamaCppClient } from "./LlamaCppClient.js";
import type { AIMessage, AIRequest, AIResponse, AIToolCall } from "./types.js";

/** A tool the agent loop can run: its schema goes to the model, its handler runs the call. */
export interface AgentTool<Args = Record<string, unknown>> {
  name: string;
  description?: string;
  /** JSON schema of the arguments. Default: any object. */
  parameters?: Record<string, unknown>;
  /** Runs one call. The result is sent to the model as JSON (a string as is); a throw is sent as `{error: message}`. */
  handler: (args: Args, context: { signal: AbortSignal | undefined; call: AIToolCall }) => unknown;
}

/** What one tool call of a step produced. */
export interface ToolCallResult {
  call: AIToolCall;
  /** The text sent back to the model as the tool message. */
  content: string;
  /** The handler's error message, when it threw (or the call was malformed). */
  error?: string;
}

/** One step of the loop: the model's response and the tool calls run for it. */
export interface AgentStep {
  /** 1-based. */
  index: number;
  response: AIResponse;
  toolResults: ToolCallResult[];
}

export interface RunWithToolsOptions {
  /** Model turns at most (each turn that asks for tools is a step). Default: 8. */
  maxSteps?: number;
  /** Cancels the model call and is passed to the handlers. Default: the request's signal. */
  signal?: AbortSignal;
  /** Called after every step. */
  onStep?: (step: AgentStep) => void;
}

export interface RunWithToolsResult {
  /** The final answer (the last response; it may still ask for tools when the step limit stopped the loop). */
  response: AIResponse;
  steps: AgentStep[];
  /** The whole conversation, tool messages included. */
  messages: AIMessage[];
  /** "answer": the model answered without tools; "max_steps": the limit stopped it. */
  stoppedBy: "answer" | "max_steps";
}

/**
 * The agent loop: calls the model with the tools, runs the calls it asks for (in parallel when
 * it asks for several), feeds the results back as tool messages, and stops at an answer or after
 * `maxSteps`. The request's `toolChoice` applies to the first step only: later steps use "auto",
 * else a forced choice would call tools forever.
 */
export async function runWithTools(client: LlamaCppClient, request: AIRequest, tools: readonly AgentTool<never>[], options: RunWithToolsOptions = {}): Promise<RunWithToolsResult> {
  const maxSteps = Math.max(1, options.maxSteps ?? 8);
  const signal = options.signal ?? request.signal;
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const toolSpecs = tools.map(({ name, description, parameters }) => ({ name, ...(description ? { description } : {}), ...(parameters ? { parameters } : {}) }));
  const messages: AIMessage[] = [...request.messages];
  const steps: AgentStep[] = [];
  for (let index = 1; ; index++) {
    const response = await client.generateResponse({
      ...request,
      messages,
      tools: toolSpecs,
      toolChoice: index === 1 ? (request.toolChoice ?? "auto") : "auto",
      ...(signal ? { signal } : {}),
    });
    if (response.toolCalls.length === 0) {
      const step = { index, response, toolResults: [] };
      steps.push(step);
      options.onStep?.(step);
      messages.push({ role: "assistant", content: response.text });
      return { response, steps, messages, stoppedBy: "answer" };
    }
    // A call cut by maxTokens has arguments that are not JSON, and servers refuse such a call in the
    // history: it goes back as `{}`, and its tool result tells the model what was wrong.
    const historyCalls = response.toolCalls.map((call) => (isJsonText(call.arguments) ? call : { ...call, arguments: "{}" }));
    messages.push({ role: "assistant", content: response.text, toolCalls: historyCalls });
    const toolResults = await Promise.all(response.toolCalls.map((call) => runToolCall(byName.get(call.name), call, signal)));
    if (signal?.aborted) throw new RequestAbortedError();
    for (const result of toolResults) messages.push({ role: "tool", toolCallId: result.call.id, content: result.content });
    const step = { index, response, toolResults };
    steps.push(step);
    options.onStep?.(step);
    if (index >= maxSteps) return { response, steps, messages, stoppedBy: "max_steps" };
  }
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Runs one call; nothing it does can throw out of the loop (an abort is checked by the loop). */
async function runToolCall(tool: AgentTool<never> | undefined, call: AIToolCall, signal: AbortSignal | undefined): Promise<ToolCallResult> {
  const failed = (error: string): ToolCallResult => ({ call, content: JSON.stringify({ error }), error });
  if (!tool) return failed(`Unknown tool: ${call.name}`);
  let args: unknown;
  try {
    args = call.arguments.trim() ? JSON.parse(call.arguments) : {};
  } catch {
    return failed(`The arguments are not valid JSON: ${call.arguments.slice(0, 200)}`);
  }
  try {
    const result = await tool.handler(args as never, { signal, call });
    return { call, content: typeof result === "string" ? result : (JSON.stringify(result) ?? "null") };
  } catch (error) {
    return failed(error instanceof Error ? error.message : toClientError(error).message);
  }
}
