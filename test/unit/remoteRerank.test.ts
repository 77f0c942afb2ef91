import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../src/core/errors.js";
import { OpenAiCompatibleProvider } from "../../src/core/router/OpenAiCompatibleProvider.js";

/** A remote whose POST /v1/rerank answers `answer`, recording the body it got. */
function rerankFetch(answer: unknown, seen: unknown[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.endsWith("/v1/rerank")) return new Response("{}", { status: 404 });
    seen.push(JSON.parse(String(init?.body)));
    return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } });
  }) as typeof fetch;
}

describe("OpenAiCompatibleProvider.rerank", () => {
  it("posts to the remote's /rerank and puts the scores back in the documents' order", async () => {
    const seen: unknown[] = [];
    const answer = { model: "remote-reranker", results: [{ index: 1, relevance_score: 0.9 }, { index: 0, relevance_score: 0.1 }], usage: { prompt_tokens: 12 } };
    const provider = new OpenAiCompatibleProvider({ id: "remote", baseUrl: "http://upstream.invalid/v1", fetch: rerankFetch(answer, seen) });
    expect(await provider.rerank("reranker", "q", ["a", "b"], {})).toEqual({ scores: [0.1, 0.9], promptTokens: 12, modelId: "remote-reranker" });
    expect(seen).toEqual([{ model: "reranker", query: "q", documents: ["a", "b"], return_documents: false }]);
  });

  it("refuses an answer that misses documents or is not a rerank body", async () => {
    const missing = new OpenAiCompatibleProvider({ id: "remote", baseUrl: "http://upstream.invalid/v1", fetch: rerankFetch({ results: [{ index: 0, relevance_score: 1 }] }, []) });
    await expect(missing.rerank("m", "q", ["a", "b"], {})).rejects.toThrow(UpstreamError);
    const garbage = new OpenAiCompatibleProvider({ id: "remote", baseUrl: "http://upstream.invalid/v1", fetch: rerankFetch({ data: "nope" }, []) });
    await expect(garbage.rerank("m", "q", ["a"], {})).rejects.toThrow(/unexpected body/);
  });
});
