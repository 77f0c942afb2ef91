import { randomUUID } from "node:crypto";
import type { GenerationResult } from "../../../shared/api/generation.js";
import type { ResponseRequest } from "./responseRequestSchema.js";

/** An item or response object as it goes on the wire. */
export type WireObject = Record<string, unknown>;

/** A new id with OpenAI's prefix for its kind: `resp`, `msg`, `fc`, `fco` or `rs`. */
export function newResponseId(prefix: "resp" | "msg" | "fc" | "fco" | "rs"): string {
  return `${prefix}_${randomUUID().replace(/-/g, "")}`;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed" | "cancelled";

/** How a finished generation ends its response: out of tokens is "incomplete", a stopped one "cancelled". */
export function statusOf(result: GenerationResult): ResponseStatus {
  return result.finishReason === "length" ? "incomplete" : result.finishReason === "abort" ? "cancelled" : "completed";
}

export function toResponseUsage(result: GenerationResult) {
  const { promptTokens, completionTokens, reasoningTokens, cachedPromptTokens } = result.usage;
  return {
    input_tokens: promptTokens,
    input_tokens_details: { cached_tokens: cachedPromptTokens ?? 0 },
    output_tokens: completionTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens ?? 0 },
    total_tokens: promptTokens + completionTokens,
  };
}

export const messageItem = (id: string, text: string, status: "in_progress" | "completed" | "incomplete"): WireObject => ({
  id,
  type: "message",
  status,
  role: "assistant",
  content: status === "in_progress" ? [] : [outputTextPart(text)],
});

export const outputTextPart = (text: string): WireObject => ({ type: "output_text", text, annotations: [], logprobs: [] });

export const reasoningItem = (id: string, text: string | undefined): WireObject => ({
  id,
  type: "reasoning",
  summary: [],
  content: text === undefined ? [] : [{ type: "reasoning_text", text }],
});

export const functionCallItem = (id: string, call: { id: string; name: string; arguments: string }, done: boolean): WireObject => ({
  id,
  type: "function_call",
  status: done ? "completed" : "in_progress",
  call_id: call.id,
  name: call.name,
  arguments: done ? call.arguments : "",
});

/** What a response says about the request that made it (echoed as OpenAI does). */
export interface ResponseHeader {
  id: string;
  /** Seconds since the epoch. */
  createdAt: number;
  model: string;
  request: ResponseRequest;
}

/** A response object: the request's settings, then status, output and usage. */
export function responseObject(
  header: ResponseHeader,
  state: { status: ResponseStatus; output: WireObject[]; result?: GenerationResult; error?: { code: string; message: string } },
): WireObject {
  const { request } = header;
  return {
    id: header.id,
    object: "response",
    created_at: header.createdAt,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: null,
    model: header.model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    prompt_cache_key: request.prompt_cache_key ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: null },
    safety_identifier: request.safety_identifier ?? null,
    service_tier: "default",
    store: request.store ?? true,
    temperature: request.temperature ?? null,
    text: { format: request.text?.format ?? { type: "text" }, verbosity: "medium" },
    tool_choice: request.tool_choice ?? "auto",
    // Function tools are strict unless they say not (as OpenAI's Responses API has it); arguments are always constrained here.
    tools: (request.tools ?? []).map((tool) => ({ ...tool, strict: tool.strict ?? true })),
    top_p: request.top_p ?? null,
    truncation: "disabled",
    usage: state.result ? toResponseUsage(state.result) : null,
    user: request.user ?? null,
    metadata: request.metadata ?? {},
  };
}
