import { describe, expect, it } from "vitest";
import { messagesRequestSchema } from "../../src/core/api/anthropic/messagesRequestSchema.js";
import { toChatGenerationOptions, toChatMessages } from "../../src/core/api/anthropic/toChatRequest.js";
import { parseBody } from "../../src/core/api/validation.js";

const parse = (body: Record<string, unknown>) => parseBody(messagesRequestSchema, { model: "m", max_tokens: 16, ...body });

describe("Anthropic requests → the door's chat request", () => {
  it("maps system blocks, tool_use and tool_result (errors flagged in the text), and drops thinking blocks", () => {
    const request = parse({
      system: [{ type: "text", text: "A" }, { type: "text", text: "B", cache_control: { type: "ephemeral" } }],
      messages: [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hm", signature: "sig" },
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_1", name: "get", input: { city: "Paris" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "rain" }], is_error: true },
            { type: "text", text: "And tomorrow?" },
          ],
        },
      ],
    });
    expect(toChatMessages(request)).toEqual([
      { role: "system", content: "A\n\nB" },
      { role: "user", content: "Weather?" },
      { role: "assistant", content: "Checking.", toolCalls: [{ id: "toolu_1", name: "get", arguments: '{"city":"Paris"}' }] },
      { role: "tool", content: "Error: rain", toolCallId: "toolu_1" },
      { role: "user", content: "And tomorrow?" },
    ]);
  });

  it("maps sampling, tool_choice and thinking (with effort when no budget is set)", () => {
    const tools = [{ name: "get", input_schema: { type: "object" } }];
    expect(toChatGenerationOptions(parse({ messages: [{ role: "user", content: "x" }], temperature: 0.5, top_p: 0.9, top_k: 5, stop_sequences: ["END"], tools, tool_choice: { type: "any" } }))).toEqual({
      maxTokens: 16,
      temperature: 0.5,
      topP: 0.9,
      topK: 5,
      stop: ["END"],
      tools: [{ name: "get", parameters: { type: "object" } }],
      toolChoice: "required",
    });
    const user = [{ role: "user", content: "x" }];
    expect(toChatGenerationOptions(parse({ messages: user, thinking: { type: "enabled", budget_tokens: 100 } })).reasoning).toEqual({ enabled: true, maxTokens: 100 });
    expect(toChatGenerationOptions(parse({ messages: user, thinking: { type: "disabled" }, output_config: { effort: "high" } })).reasoning).toEqual({ enabled: false });
    expect(toChatGenerationOptions(parse({ messages: user, thinking: { type: "adaptive" }, output_config: { effort: "low" } })).reasoning).toEqual({ enabled: true, maxTokens: 1024 });
    expect(toChatGenerationOptions(parse({ messages: user })).reasoning).toBeUndefined();
  });

  it("refuses documents, server tools and a missing max_tokens with 400s that name them", () => {
    expect(() => parse({ messages: [{ role: "user", content: [{ type: "document", source: {} }] }] })).toThrow(/'messages\[0\]\.content\[0\]'.*'document' content blocks are not supported/);
    expect(() => parse({ messages: [{ role: "user", content: "x" }], tools: [{ type: "web_search_20250305", name: "web_search" }] })).toThrow(/tools\[0\]/);
    expect(() => parseBody(messagesRequestSchema, { model: "m", messages: [{ role: "user", content: "x" }] })).toThrow("Missing required parameter: 'max_tokens'");
    expect(() => parse({ messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "f" }] }] })).toThrow(/messages\[0\]\.content\[0\]\.input/);
  });
});
