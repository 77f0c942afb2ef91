import type { GenerationDelta, GenerationResult } from "../../../shared/api/generation.js";
import { functionCallItem, messageItem, newResponseId, outputTextPart, reasoningItem, type WireObject } from "./responseObjects.js";

interface OpenItem {
  kind: "reasoning" | "message";
  index: number;
  id: string;
  text: string;
}

/**
 * Builds a response's output items from a generation's deltas, and the stream events that
 * announce them (without `sequence_number`; the framing numbers them): thinking becomes a
 * `reasoning` item, the answer a `message` item, and the calls `function_call` items at the
 * end (the engine reports calls once they are complete). A non-streamed response feeds the
 * whole result as one delta and keeps only {@link output}.
 */
export class ResponseOutputBuilder {
  /** The output items so far; complete after {@link finish}. */
  readonly output: WireObject[] = [];
  private open: OpenItem | undefined;

  /** @param parallelToolCalls false: at most one call is kept (`parallel_tool_calls: false`). Default: true. */
  constructor(private readonly parallelToolCalls = true) {}

  /** The events of one delta. */
  delta(delta: Pick<GenerationDelta, "text" | "reasoning">): WireObject[] {
    return [...(delta.reasoning ? this.append("reasoning", delta.reasoning) : []), ...(delta.text ? this.append("message", delta.text) : [])];
  }

  /** The events that end the output: the open item is done, the calls follow. */
  finish(result: GenerationResult): WireObject[] {
    const calls = (result.toolCalls ?? []).slice(0, this.parallelToolCalls ? undefined : 1);
    const events: WireObject[] = [];
    // A response always says something: an empty answer is an empty message.
    if (!calls.length && this.open?.kind !== "message" && !this.output.some((item) => item.type === "message")) events.push(...this.close(), ...this.openItem("message"));
    events.push(...this.close(result.finishReason === "length" ? "incomplete" : "completed"));
    for (const call of calls) {
      const id = newResponseId("fc");
      const index = this.output.length;
      const item = functionCallItem(id, call, true);
      this.output.push(item);
      events.push(
        { type: "response.output_item.added", output_index: index, item: functionCallItem(id, call, false) },
        { type: "response.function_call_arguments.delta", item_id: id, output_index: index, delta: call.arguments },
        { type: "response.function_call_arguments.done", item_id: id, output_index: index, name: call.name, arguments: call.arguments },
        { type: "response.output_item.done", output_index: index, item },
      );
    }
    return events;
  }

  private append(kind: OpenItem["kind"], text: string): WireObject[] {
    const events = this.open?.kind === kind ? [] : [...this.close(), ...this.openItem(kind)];
    const open = this.open!;
    open.text += text;
    const where = { item_id: open.id, output_index: open.index, content_index: 0, delta: text };
    events.push(kind === "message" ? { type: "response.output_text.delta", ...where, logprobs: [] } : { type: "response.reasoning_text.delta", ...where });
    return events;
  }

  private openItem(kind: OpenItem["kind"]): WireObject[] {
    const id = newResponseId(kind === "message" ? "msg" : "rs");
    const index = this.output.length;
    const item = kind === "message" ? messageItem(id, "", "in_progress") : reasoningItem(id, undefined);
    this.output.push(item);
    this.open = { kind, index, id, text: "" };
    return [
      { type: "response.output_item.added", output_index: index, item },
      {
        type: "response.content_part.added",
        item_id: id,
        output_index: index,
        content_index: 0,
        part: kind === "message" ? outputTextPart("") : { type: "reasoning_text", text: "" },
      },
    ];
  }

  private close(status: "completed" | "incomplete" = "completed"): WireObject[] {
    const open = this.open;
    if (!open) return [];
    this.open = undefined;
    const item = open.kind === "message" ? messageItem(open.id, open.text, status) : reasoningItem(open.id, open.text);
    this.output[open.index] = item;
    const where = { item_id: open.id, output_index: open.index, content_index: 0 };
    return [
      open.kind === "message"
        ? { type: "response.output_text.done", ...where, text: open.text, logprobs: [] }
        : { type: "response.reasoning_text.done", ...where, text: open.text },
      { type: "response.content_part.done", ...where, part: open.kind === "message" ? outputTextPart(open.text) : { type: "reasoning_text", text: open.text } },
      { type: "response.output_item.done", output_index: open.index, item },
    ];
  }
}
