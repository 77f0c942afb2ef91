import { randomUUID } from "node:crypto";
import type { BatchLineExecutor } from "../../batches/BatchRunner.js";
import { InvalidArgumentError } from "../../errors.js";
import { toHttpError } from "../apiErrors.js";
import type { ApiServices } from "../apiServices.js";
import { parseBody } from "../validation.js";
import { chatCompletionRequestSchema, completionRequestSchema, embeddingRequestSchema } from "../openai/chatCompletionSchema.js";
import { toChatCompletion } from "../openai/chatCompletionsRoute.js";
import { toTextCompletion } from "../openai/completionsRoute.js";
import { toEmbeddingInputs, toEmbeddingList } from "../openai/embeddingsRoute.js";
import { toChatGenerationOptions, toChatMessages, toCompletionOptions } from "../openai/toEngineRequest.js";

const compactId = () => randomUUID().replace(/-/g, "");

/**
 * Runs batch lines through the inference door exactly as their routes convert and answer
 * requests (the same schemas, converters and response builders), at background priority so
 * that interactive requests go first. Errors become the status and body the route would send.
 */
export function createBatchLineExecutor({ inference }: Pick<ApiServices, "inference">): BatchLineExecutor {
  const answer = async (url: string, raw: Record<string, unknown>, signal: AbortSignal): Promise<unknown> => {
    const created = Math.floor(Date.now() / 1000);
    if (raw.stream === true) throw new InvalidArgumentError("'stream' is not supported in a batch", "stream");
    switch (url) {
      case "/v1/chat/completions": {
        const body = parseBody(chatCompletionRequestSchema, raw);
        const generation = await inference.chat(body.model, toChatMessages(body.messages), { ...toChatGenerationOptions(body), signal, priority: "background" });
        return toChatCompletion(`chatcmpl-${compactId()}`, created, generation.modelId, await generation.stream.collect());
      }
      case "/v1/completions": {
        const body = parseBody(completionRequestSchema, raw);
        const prompt = typeof body.prompt === "string" ? body.prompt : body.prompt[0]!;
        const generation = await inference.complete(body.model, prompt, { ...toCompletionOptions(body), signal, priority: "background" });
        return toTextCompletion(`cmpl-${compactId()}`, created, generation.modelId, await generation.stream.collect());
      }
      case "/v1/embeddings": {
        const body = parseBody(embeddingRequestSchema, raw);
        const result = await inference.embed(body.model, toEmbeddingInputs(body), { signal, priority: "background" });
        return toEmbeddingList(result, body.encoding_format === "base64");
      }
      default:
        throw new InvalidArgumentError(`'url' ${url} is not a batch endpoint`, "url");
    }
  };
  return async (line, signal) => {
    try {
      return { statusCode: 200, body: await answer(line.url, line.body, signal) };
    } catch (error) {
      if (signal.aborted) throw error;
      const httpError = toHttpError(error);
      const retryAfter = Number(httpError.headers?.["retry-after"]);
      // A full or timed-out queue says nothing about the line: it runs again later.
      const retryable = (httpError.status === 429 || httpError.status === 503) && Number.isFinite(retryAfter);
      return { statusCode: httpError.status, body: httpError.body, ...(retryable ? { retryAfterSeconds: retryAfter } : {}) };
    }
  };
}
