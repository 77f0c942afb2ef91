import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatMessage, GenerationResult, ToolCall } from "../../../shared/api/generation.js";
import type { LocalModelOptions, StartedGeneration } from "../../inference/InferenceService.js";
import type { ApiServices } from "../apiServices.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { InvalidArgumentError, ModelLoadFailedError, ModelNotFoundError, UnsupportedError } from "../../errors.js";
import { recordAudit } from "../auditContext.js";
import { abortOnDisconnect, writeNdjson } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { ollamaChatSchema, ollamaEmbedSchema, ollamaGenerateSchema, ollamaLegacyEmbeddingsSchema, ollamaShowSchema } from "./ollamaSchemas.js";
import { toOllamaDetails, toOllamaName } from "./ollamaModelNames.js";
import { registerOllamaModelRoutes } from "./registerOllamaModelRoutes.js";
import { parseKeepAlive } from "./parseKeepAlive.js";
import { echoedModelName, requestedModel, toOllamaChatMessages, toOllamaGenerationOptions, toOllamaReasoning, toOllamaResponseFormat } from "./toOllamaRequest.js";

/** The Ollama API version we speak (clients check it before using newer features). */
export const OLLAMA_COMPATIBLE_VERSION = "0.9.0";

const nanoseconds = (ms: number) => Math.round(ms * 1e6);

function finalStats(result: GenerationResult, startedAt: number, loadMs: number) {
  const evalMs = result.timings.decodeTokensPerSecond > 0 ? ((result.usage.completionTokens - 1) * 1000) / result.timings.decodeTokensPerSecond : 0;
  return {
    done_reason: result.finishReason === "length" ? "length" : "stop",
    total_duration: nanoseconds(performance.now() - startedAt),
    load_duration: nanoseconds(loadMs),
    prompt_eval_count: result.usage.promptTokens,
    prompt_eval_duration: nanoseconds(result.timings.promptMs),
    eval_count: result.usage.completionTokens,
    eval_duration: nanoseconds(evalMs),
  };
}

/**
 * Streams a generation as Ollama does: NDJSON lines with `done: false`, then one with the
 * statistics; or one JSON object when `stream` is false.
 */
async function respond(
  request: FastifyRequest,
  reply: FastifyReply,
  generation: StartedGeneration,
  /** The model's name as the request gave it (Ollama echoes it). */
  name: string,
  stream: boolean,
  timing: { startedAt: number; loadMs: number },
  /** The answer's fields: `thinking` is the thinking apart from the text (Ollama's `think`). */
  shape: (text: string, result?: GenerationResult, thinking?: string) => object,
): Promise<unknown> {
  const base = () => ({ model: name, created_at: new Date().toISOString() });
  if (!stream) {
    const result = await generation.stream.collect();
    recordAudit(request, { usage: result.usage });
    return { ...base(), ...shape(result.text, result, result.reasoning), done: true, ...finalStats(result, timing.startedAt, timing.loadMs) };
  }
  return streamGeneration(request, reply, generation.stream, {
    contentType: "application/x-ndjson",
    write: writeNdjson,
    delta: (delta) => (delta.text || delta.reasoning ? [{ ...base(), ...shape(delta.text, undefined, delta.reasoning), done: false }] : []),
    end: (result) => [{ ...base(), ...shape("", result), done: true, ...finalStats(result, timing.startedAt, timing.loadMs) }],
    error: (httpError) => ({ error: httpError.body.error.message }),
  });
}

/**
 * Tool calls in Ollama's shape (arguments as an object). A call cut by num_predict has
 * arguments that are no JSON yet: it is left out, and done_reason "length" tells why.
 */
function toOllamaToolCalls(calls: readonly ToolCall[]) {
  return calls.flatMap((call) => {
    try {
      return [{ function: { name: call.name, arguments: JSON.parse(call.arguments) as unknown } }];
    } catch {
      return [];
    }
  });
}

/**
 * `/api/generate` fields we cannot honour, refused rather than ignored: `suffix` (fill in the
 * middle), `template` (a Go template of the request's own) and `context` (the token state of a
 * previous answer, which this server does not return). Empty values change nothing and pass.
 */
function refuseUnsupportedGenerateFields(body: { suffix?: string; template?: string; context?: number[] }): void {
  if (body.suffix) throw new UnsupportedError("suffix is not supported by this server", "suffix");
  if (body.template) throw new UnsupportedError("template is not supported by this server: the model's own chat template is used (or none with raw)", "template");
  if (body.context?.length) throw new UnsupportedError("context is not supported by this server: send the whole conversation (e.g. with /api/chat)", "context");
}

/**
 * `keep_alive`, and the load options (`num_ctx`, `num_batch`, `use_mmap`, `use_mlock`) used
 * when the request has to load the model (a loaded model keeps its own).
 */
function localOptions(
  keepAliveMs: number | undefined,
  options: { num_ctx?: number; num_batch?: number; use_mmap?: boolean; use_mlock?: boolean },
): LocalModelOptions {
  const load: NonNullable<LocalModelOptions["load"]> = {
    ...(options.num_ctx !== undefined ? { contextSize: options.num_ctx } : {}),
    ...(options.num_batch !== undefined ? { batchSize: options.num_batch } : {}),
    ...(options.use_mmap !== undefined ? { useMmap: options.use_mmap } : {}),
    ...(options.use_mlock !== undefined ? { useMlock: options.use_mlock } : {}),
  };
  return { ...(keepAliveMs !== undefined ? { keepAliveMs } : {}), ...(Object.keys(load).length > 0 ? { load } : {}) };
}

/** The Ollama dialect: thin adapters over the same inference service as the OpenAI routes. */
export function registerOllamaRoutes(app: FastifyInstance, { inference, catalog }: ApiServices): void {
  app.get("/api/version", async () => ({ version: OLLAMA_COMPATIBLE_VERSION }));

  app.get("/api/tags", async () => {
    const models = await catalog.list();
    return {
      models: await Promise.all(
        models.map(async (model) => {
          const local = model.library;
          return {
            name: toOllamaName(model.id),
            model: toOllamaName(model.id),
            modified_at: new Date(local?.modifiedAt ?? model.createdAt ?? Date.now()).toISOString(),
            size: local?.sizeBytes ?? 0,
            digest: local ? await catalog.digest(local) : "",
            details: toOllamaDetails(local),
            ...(model.kind !== "local" ? { remote_host: model.providers.join(",") } : {}),
          };
        }),
      ),
    };
  });

  app.get("/api/ps", async () => ({
    models: await Promise.all(
      catalog.running().map(async ({ loadOptions, ...model }) => {
        const local = await catalog.localModel(model.id);
        return {
          name: toOllamaName(model.id),
          model: toOllamaName(model.id),
          size: model.memory.ramBytes + model.memory.vramBytes,
          digest: local ? await catalog.digest(local) : "",
          details: toOllamaDetails(local),
          // Ollama's way of saying "never": a date far in the future.
          expires_at: new Date(model.expiresAt ?? (model.keepAliveMs < 0 ? Date.UTC(2318, 0, 1) : Date.now() + model.keepAliveMs)).toISOString(),
          size_vram: model.memory.vramBytes,
          context_length: model.contextSize,
          // Ours (Ollama sets these server-wide): what the model runs with, in Ollama's option names where it has them.
          ...(loadOptions
            ? {
                load_options: {
                  flash_attention: loadOptions.flashAttention,
                  kv_cache_type_k: loadOptions.kvCacheKeyType,
                  kv_cache_type_v: loadOptions.kvCacheValueType,
                  num_batch: loadOptions.batchSize,
                  use_mmap: loadOptions.useMmap,
                  use_mlock: loadOptions.useMlock,
                },
              }
            : {}),
        };
      }),
    ),
  }));

  app.post("/api/show", async (request) => {
    const body = parseBody(ollamaShowSchema, request.body);
    const id = requestedModel(body);
    const entry = await catalog.find(id);
    if (!entry) throw new ModelNotFoundError(id);
    const model = entry.library;
    if (!model) {
      // A remote or an alias: what the catalogue knows of it.
      return {
        modelfile: "",
        parameters: "",
        template: "",
        details: toOllamaDetails(undefined),
        model_info: entry.capabilities.contextLength ? { "general.context_length": entry.capabilities.contextLength } : {},
        capabilities: [...(entry.capabilities.chat ? ["completion"] : []), ...(entry.capabilities.embeddings ? ["embedding"] : []), ...(entry.capabilities.tools ? ["tools"] : [])],
        remote_host: entry.providers.join(","),
      };
    }
    if (model.status !== "ok") throw new ModelLoadFailedError(id, model.error ?? "the file is broken");
    const template = await catalog.chatTemplate(model);
    const architecture = model.architecture ?? "";
    return {
      modelfile: `FROM ${model.files[0]?.path ?? id}\n`,
      parameters: "",
      template,
      details: toOllamaDetails(model),
      model_info: {
        "general.architecture": architecture,
        "general.parameter_count": model.parameterCount ?? 0,
        [`${architecture}.context_length`]: model.contextLength ?? 0,
      },
      capabilities: [
        ...(model.capabilities.includes("completion") ? ["completion"] : []),
        ...(model.capabilities.includes("embedding") ? ["embedding"] : []),
        ...(/\btools\b/.test(template) ? ["tools"] : []),
        // Ollama's "thinking": the template has a thinking section (Qwen3/DeepSeek-R1 <think>, gpt-oss channels, Mistral [THINK]).
        ...(/<think>|<\|channel\|>|\[THINK\]/.test(template) ? ["thinking"] : []),
      ],
      modified_at: new Date(model.modifiedAt).toISOString(),
    };
  });

  app.post("/api/chat", async (request, reply) => {
    const startedAt = performance.now();
    const body = parseBody(ollamaChatSchema, request.body);
    const model = requestedModel(body);
    const keepAliveMs = parseKeepAlive(body.keep_alive);
    const messages = toOllamaChatMessages(body.messages);
    if (messages.length === 0) {
      // Ollama's idiom: a chat with no messages only loads (or, with keep_alive 0, unloads) the model.
      const served = await inference.prepare(model, localOptions(keepAliveMs, body.options));
      announceServedBy(reply, served);
      return { model: echoedModelName(body), created_at: new Date().toISOString(), message: { role: "assistant", content: "" }, done_reason: keepAliveMs === 0 ? "unload" : "load", done: true };
    }
    const responseFormat = toOllamaResponseFormat(body.format);
    const disconnect = abortOnDisconnect(request, reply);
    const reasoning = toOllamaReasoning(body.think);
    const generation = await inference.chat(model, messages, {
      ...toOllamaGenerationOptions(body.options),
      ...(responseFormat ? { responseFormat } : {}),
      ...(reasoning ? { reasoning } : {}),
      ...(body.tools?.length
        ? { tools: body.tools.map((tool) => ({ name: tool.function.name, description: tool.function.description, parameters: tool.function.parameters })) }
        : {}),
      local: localOptions(keepAliveMs, body.options),
      routing: routingHintsOf(request),
      signal: disconnect.signal,
    });
    announceServedBy(reply, generation);
    recordAudit(request, { model: generation.modelId, prompt: messages });
    const loadMs = performance.now() - startedAt;
    return respond(request, reply, generation, echoedModelName(body), body.stream, { startedAt, loadMs }, (text, result, thinking) => ({
      message: {
        role: "assistant",
        content: text,
        ...(thinking ? { thinking } : {}),
        ...(result?.toolCalls ? { tool_calls: toOllamaToolCalls(result.toolCalls) } : {}),
      },
    }));
  });

  app.post("/api/generate", async (request, reply) => {
    const startedAt = performance.now();
    const body = parseBody(ollamaGenerateSchema, request.body);
    const model = requestedModel(body);
    const keepAliveMs = parseKeepAlive(body.keep_alive);
    if (body.images?.length) throw new InvalidArgumentError("images are not supported by this server", "images");
    refuseUnsupportedGenerateFields(body);
    if (body.prompt === "" && !body.system) {
      const served = await inference.prepare(model, localOptions(keepAliveMs, body.options));
      announceServedBy(reply, served);
      return { model: echoedModelName(body), created_at: new Date().toISOString(), response: "", done_reason: keepAliveMs === 0 ? "unload" : "load", done: true };
    }
    const options = toOllamaGenerationOptions(body.options);
    const responseFormat = toOllamaResponseFormat(body.format);
    const disconnect = abortOnDisconnect(request, reply);
    let generation: StartedGeneration;
    // Ollama's template of a model without one of its own is the bare prompt: a raw completion.
    const local = body.raw ? undefined : await catalog.localModel(model);
    const raw = body.raw || (local !== undefined && !local.hasChatTemplate);
    if (raw) {
      if (responseFormat) throw new UnsupportedError("format is not supported with a raw prompt (raw, or a model without a chat template)", "format");
      const prompt = !body.raw && body.system ? `${body.system}\n\n${body.prompt}` : body.prompt;
      generation = await inference.complete(model, prompt, { ...options, local: localOptions(keepAliveMs, body.options), routing: routingHintsOf(request), signal: disconnect.signal });
      recordAudit(request, { model: generation.modelId, prompt });
    } else {
      // Without `raw`, Ollama wraps the prompt in the model's chat template.
      const messages: ChatMessage[] = [...(body.system ? [{ role: "system" as const, content: body.system }] : []), { role: "user", content: body.prompt }];
      const reasoning = toOllamaReasoning(body.think);
      generation = await inference.chat(model, messages, {
        ...options,
        ...(responseFormat ? { responseFormat } : {}),
        ...(reasoning ? { reasoning } : {}),
        local: localOptions(keepAliveMs, body.options),
        routing: routingHintsOf(request),
        signal: disconnect.signal,
      });
      recordAudit(request, { model: generation.modelId, prompt: messages });
    }
    announceServedBy(reply, generation);
    const loadMs = performance.now() - startedAt;
    return respond(request, reply, generation, echoedModelName(body), body.stream, { startedAt, loadMs }, (text, _result, thinking) => ({ response: text, ...(thinking ? { thinking } : {}) }));
  });

  app.post("/api/embed", async (request, reply) => {
    const startedAt = performance.now();
    const body = parseBody(ollamaEmbedSchema, request.body);
    const inputs = typeof body.input === "string" ? [body.input] : body.input;
    const result = await inference.embed(requestedModel(body), inputs, { local: localOptions(parseKeepAlive(body.keep_alive), body.options), routing: routingHintsOf(request) });
    announceServedBy(reply, result);
    recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
    return {
      model: echoedModelName(body),
      embeddings: result.embeddings,
      total_duration: nanoseconds(performance.now() - startedAt),
      load_duration: 0,
      prompt_eval_count: result.promptTokens,
    };
  });

  // The older one-text route (ollama.embeddings): `{embedding}`, empty for an empty prompt as Ollama's.
  app.post("/api/embeddings", async (request, reply) => {
    const body = parseBody(ollamaLegacyEmbeddingsSchema, request.body);
    if (body.prompt === "") return { embedding: [] };
    const result = await inference.embed(requestedModel(body), [body.prompt], { local: localOptions(parseKeepAlive(body.keep_alive), body.options), routing: routingHintsOf(request) });
    announceServedBy(reply, result);
    recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
    return { embedding: result.embeddings[0] ?? [] };
  });

  registerOllamaModelRoutes(app, { catalog });
}
