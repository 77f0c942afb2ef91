import { describe, expect, it } from "vitest";
import { OpenAiCompatibleProvider } from "../../src/core/router/OpenAiCompatibleProvider.js";

/** A remote that answers GET /v1/models with what each server of its kind says of a model. */
function modelsFetch(data: unknown[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.endsWith("/models")) return new Response("{}", { status: 404 });
    return new Response(JSON.stringify({ object: "list", data }), { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
}

describe("OpenAiCompatibleProvider", () => {
  it("discovers models and the context lengths vLLM and llama-server report", async () => {
    const provider = new OpenAiCompatibleProvider({
      id: "remote",
      baseUrl: "http://upstream.invalid/v1/",
      fetch: modelsFetch([
        { id: "vllm-model", object: "model", max_model_len: 32768 },
        { id: "llama-server-model", object: "model", meta: { n_ctx_train: 4096 } },
        { id: "plain", object: "model" },
        { id: "", object: "model" },
        { id: "absurd", object: "model", max_model_len: -5 },
      ]),
    });
    expect(provider.baseUrl).toBe("http://upstream.invalid/v1");
    const models = await provider.listModels();
    expect(models.map((model) => [model.id, model.capabilities.contextLength])).toEqual([
      ["vllm-model", 32768],
      ["llama-server-model", 4096],
      ["plain", undefined],
      ["absurd", undefined],
    ]);
  });

  it("configured models and capabilities win over discovery", async () => {
    let asked = false;
    const provider = new OpenAiCompatibleProvider({
      id: "remote",
      baseUrl: "http://upstream.invalid/v1",
      models: ["fixed"],
      capabilities: { tools: false, contextLength: 1000 },
      fetch: (async () => {
        asked = true;
        return new Response("{}");
      }) as typeof fetch,
    });
    expect(await provider.listModels()).toEqual([{ id: "fixed", capabilities: { chat: true, embeddings: true, tools: false, jsonSchema: true, contextLength: 1000 } }]);
    expect(asked).toBe(false);
  });

  it("turns a refused connection into an upstream error naming the provider", async () => {
    const provider = new OpenAiCompatibleProvider({
      id: "gone",
      baseUrl: "http://upstream.invalid/v1",
      fetch: (async () => {
        throw new TypeError("fetch failed");
      }) as typeof fetch,
    });
    await expect(provider.checkHealth()).rejects.toMatchObject({ code: "upstream_error", message: expect.stringContaining("gone could not be reached") });
  });
});
