import type { FastifyReply } from "fastify";
import type { GenerationResult } from "../../../shared/api/generation.js";
import type { StreamFraming } from "../streamGeneration.js";
import { anthropicErrorBody } from "./anthropicErrors.js";
import { toAnthropicUsage, toStopReason, toToolUseBlocks } from "./toAnthropicMessage.js";

/** Writes one Anthropic server-sent event: its `event:` name is the payload's `type`, as Anthropic's SDKs read it. */
export function writeAnthropicEvent(reply: FastifyReply, event: unknown): void {
  if (reply.raw.writableEnded || reply.raw.destroyed) return;
  const type = (event as { type?: unknown }).type;
  reply.raw.write(`event: ${typeof type === "string" ? type : "message"}\ndata: ${JSON.stringify(event)}\n\n`);
}

/** Options of {@link anthropicStreamFraming}. */
export interface AnthropicStreamOptions {
  id: string;
  model: string;
  /** The reply must be a tool call (tool_choice any/tool): text deltas are the call's JSON and are not shown. */
  forcedToolUse: boolean;
  /** disable_parallel_tool_use: only the first call becomes a block. */
  singleToolUse: boolean;
}

/**
 * Anthropic's event sequence for one streamed message: message_start, ping, then per content
 * block content_block_start / content_block_delta (thinking_delta then an empty
 * signature_delta, text_delta, input_json_delta) / content_block_stop, then message_delta with
 * the stop reason and usage, and message_stop. Tool calls are known once the generation ends,
 * so their blocks come last, each input in one input_json_delta. Errors after the start are an
 * `error` event.
 */
export function anthropicStreamFraming(options: AnthropicStreamOptions): StreamFraming {
  let index = -1;
  let open: "thinking" | "text" | undefined;
  const close = (): unknown[] => {
    if (!open) return [];
    const events: unknown[] = open === "thinking" ? [{ type: "content_block_delta", index, delta: { type: "signature_delta", signature: "" } }] : [];
    open = undefined;
    return [...events, { type: "content_block_stop", index }];
  };
  const openBlock = (kind: "thinking" | "text"): unknown[] => {
    if (open === kind) return [];
    const closed = close();
    open = kind;
    index++;
    const block = kind === "thinking" ? { type: "thinking", thinking: "", signature: "" } : { type: "text", text: "" };
    return [...closed, { type: "content_block_start", index, content_block: block }];
  };
  const text = (chunk: string): unknown[] => [...openBlock("text"), { type: "content_block_delta", index, delta: { type: "text_delta", text: chunk } }];

  return {
    contentType: "text/event-stream; charset=utf-8",
    write: writeAnthropicEvent,
    start: () => [
      {
        type: "message_start",
        // The prompt's token count is known at the end: message_delta carries it.
        message: { id: options.id, type: "message", role: "assistant", model: options.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } },
      },
      { type: "ping" },
    ],
    delta: (delta) => [
      ...(delta.reasoning ? [...openBlock("thinking"), { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: delta.reasoning } }] : []),
      ...(delta.text && !options.forcedToolUse ? text(delta.text) : []),
    ],
    end: (result: GenerationResult) => {
      const toolUses = toToolUseBlocks(result.toolCalls, options.singleToolUse);
      // A forced call that produced no call (cut by max_tokens) shows what it wrote.
      const heldBack = options.forcedToolUse && toolUses.length === 0 && result.text ? text(result.text) : [];
      const events: unknown[] = [...heldBack];
      // Every message has at least one block, as the non-streamed one does.
      if (index < 0 && toolUses.length === 0) events.push(...openBlock("text"));
      events.push(...close());
      for (const toolUse of toolUses) {
        index++;
        events.push(
          { type: "content_block_start", index, content_block: { ...toolUse, input: {} } },
          { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(toolUse.input) } },
          { type: "content_block_stop", index },
        );
      }
      events.push(
        { type: "message_delta", delta: { stop_reason: toStopReason(result), stop_sequence: result.stopSequence ?? null }, usage: toAnthropicUsage(result.usage) },
        { type: "message_stop" },
      );
      return events;
    },
    error: (httpError) => anthropicErrorBody(httpError.status, httpError.body.error.message),
  };
}
