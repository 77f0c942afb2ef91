import { ChatMLChatWrapper, DeepSeekChatWrapper, GeneralChatWrapper, HarmonyChatWrapper, QwenChatWrapper } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { REASONING_EFFORT_BUDGETS } from "../../src/core/api/reasoningEffort.js";
import { chatCompletionRequestSchema } from "../../src/core/api/openai/chatCompletionSchema.js";
import { toChatGenerationOptions } from "../../src/core/api/openai/toEngineRequest.js";
import { toOllamaReasoning } from "../../src/core/api/ollama/toOllamaRequest.js";
import { hasThoughtSegments, resolveReasoningOptions, thoughtTokenBudget, withoutThinking } from "../../src/core/engine/reasoning.js";

const chatRequest = (fields: object) =>
  toChatGenerationOptions(chatCompletionRequestSchema.parse({ model: "m", messages: [{ role: "user", content: "Hi" }], ...fields }));

describe("reasoning options", () => {
  it("maps reasoning_effort levels to budgets, and our reasoning object over them", () => {
    expect(chatRequest({}).reasoning).toBeUndefined();
    expect(chatRequest({ reasoning_effort: "none" }).reasoning).toEqual({ enabled: false });
    expect(chatRequest({ reasoning_effort: "low" }).reasoning).toEqual({ enabled: true, maxTokens: 1024 });
    expect(chatRequest({ reasoning_effort: "high" }).reasoning).toEqual({ enabled: true });
    expect(chatRequest({ reasoning_effort: "xhigh" }).reasoning).toEqual({ enabled: true });
    expect(chatRequest({ reasoning_effort: "high", reasoning: { max_tokens: 10 } }).reasoning).toEqual({ enabled: true, maxTokens: 10 });
    expect(chatRequest({ reasoning: { effort: "minimal" } }).reasoning).toEqual(REASONING_EFFORT_BUDGETS.minimal);
    expect(chatRequest({ reasoning: { enabled: false } }).reasoning).toEqual({ enabled: false });
    expect(() => chatCompletionRequestSchema.parse({ model: "m", messages: [{ role: "user", content: "Hi" }], reasoning_effort: "max" })).toThrow();
    expect(() => chatCompletionRequestSchema.parse({ model: "m", messages: [{ role: "user", content: "Hi" }], reasoning: { max_tokens: -1 } })).toThrow();
  });

  it("maps Ollama's think to on, off or a level's budget", () => {
    expect(toOllamaReasoning(undefined)).toBeUndefined();
    expect(toOllamaReasoning(true)).toEqual({ enabled: true });
    expect(toOllamaReasoning(false)).toEqual({ enabled: false });
    expect(toOllamaReasoning("medium")).toEqual({ enabled: true, maxTokens: 4096 });
  });

  it("validates the engine's options and turns them into node-llama-cpp's thought budget", () => {
    expect(() => resolveReasoningOptions({ maxTokens: -1 })).toThrow(expect.objectContaining({ code: "invalid_argument", param: "reasoning.maxTokens" }));
    expect(() => resolveReasoningOptions({ effort: "high" })).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(thoughtTokenBudget({})).toBe(Number.POSITIVE_INFINITY);
    expect(thoughtTokenBudget({ maxTokens: 12 })).toBe(12);
    expect(thoughtTokenBudget({ enabled: false, maxTokens: 12 })).toBe(0);
  });

  it("starts the reply to fill in with an empty, closed thought", () => {
    const history = withoutThinking([{ type: "user", text: "Hi" }, { type: "model", response: [] }]);
    expect(history.at(-1)).toEqual({ type: "model", response: [{ type: "segment", segmentType: "thought", text: "", ended: true }] });
  });

  it("knows the wrappers of thinking models, and renders Qwen3's no-thinking reply start", () => {
    expect([new QwenChatWrapper(), new DeepSeekChatWrapper(), new HarmonyChatWrapper()].map(hasThoughtSegments)).toEqual([true, true, true]);
    expect([new ChatMLChatWrapper(), new GeneralChatWrapper()].map(hasThoughtSegments)).toEqual([false, false]);
    const prompt = new QwenChatWrapper()
      .generateContextState({ chatHistory: withoutThinking([{ type: "user", text: "Hi" }, { type: "model", response: [] }]) })
      .contextText.toString();
    expect(prompt.endsWith("<|im_start|>assistant\n<think>\n\n</think>")).toBe(true);
  });
});
