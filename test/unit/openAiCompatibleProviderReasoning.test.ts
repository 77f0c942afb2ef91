import { describe, expect, it } from "vitest";
import { OpenAiCompatibleProvider } from "../../src/core/router/OpenAiCompatibleProvider.js";

/** A remote whose chat completions stream is these chunks (each one `data:` event). */
function streamingFetch(chunks: object[]): typeof fetch {
  return (async () => {
    const body = [...chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`), "data: [DONE]\n\n"].join("");
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }) as typeof fetch;
}

const chunk = (delta: object, extra: object = {}) => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 0,
  model: "remote-model",
  choices: [{ index: 0, delta, finish_reason: null }],
  ...extra,
});

describe("OpenAiCompatibleProvider reasoning", () => {
  it("maps reasoning_content and reasoning deltas to reasoning, apart from the text", async () => {
    const provider = new OpenAiCompatibleProvider({
      id: "remote",
      baseUrl: "http://upstream.invalid/v1",
      models: ["remote-model"],
      fetch: streamingFetch([
        chunk({ role: "assistant", reasoning_content: "Let me " }),
        // OpenRouter's and newer vLLM's name; a non-string value is ignored.
        chunk({ reasoning: "think." }),
        chunk({ reasoning_content: { nested: true }, content: "Hi" }),
        chunk({ content: " there." }),
        { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
        { ...chunk({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, completion_tokens_details: { reasoning_tokens: 4 } } },
      ]),
    });
    const { stream } = await provider.chat("remote-model", [{ role: "user", content: "Hello" }], {});
    const deltas = [];
    for await (const delta of stream) deltas.push(delta);
    const result = await stream.result;
    expect(deltas.map((delta) => [delta.reasoning ?? "", delta.text])).toEqual([
      ["Let me ", ""],
      ["think.", ""],
      ["", "Hi"],
      ["", " there."],
    ]);
    expect(result).toMatchObject({ text: "Hi there.", reasoning: "Let me think.", finishReason: "stop", usage: { promptTokens: 5, completionTokens: 7, reasoningTokens: 4 } });
  });

  it("a remote without thinking gives no reasoning fields", async () => {
    const provider = new OpenAiCompatibleProvider({
      id: "remote",
      baseUrl: "http://upstream.invalid/v1",
      models: ["remote-model"],
      fetch: streamingFetch([chunk({ content: "Hi" }), { ...chunk({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }]),
    });
    const { stream } = await provider.chat("remote-model", [{ role: "user", content: "Hello" }], {});
    const result = await stream.collect();
    expect(result.reasoning).toBeUndefined();
    expect(result.usage.reasoningTokens).toBeUndefined();
  });
});
