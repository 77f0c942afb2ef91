import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatMessage, GenerationResult } from "../../../shared/api/generation.js";
import type { LocalModelOptions, StartedGeneration } from "../../inference/InferenceService.js";
import type { ApiServices } from "../apiServices.js";
import { announceServedBy, routingHintsOf } from "../routingHeaders.js";
import { InvalidArgumentError, ModelLoadFailedError, ModelNotFoundError } from "../../errors.js";
import { recordAudit } from "../auditContext.js";
import { abortOnDisconnect, writeNdjson } from "../sse.js";
import { streamGeneration } from "../streamGeneration.js";
import { parseBody } from "../validation.js";
import { ollamaChatSchema, ollamaEmbedSchema, ollamaGenerateSchema, ollamaShowSchema } from "./ollamaSchemas.js";
import { parseKeepAlive } from "./parseKeepAlive.js";
import { requestedModel, toOllamaChatMessages, toOllamaGenerationOptions, toOllamaResponseFormat } from "./toOllamaRequest.js";

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
  stream: boolean,
  timing: { startedAt: number; loadMs: number },
  shape: (text: string, result?: GenerationResult) => object,
): Promise<unknown> {
  const base = () => ({ model: generation.modelId, created_at: new Date().toISOString() });
  if (!stream) {
    const result = await generation.stream.collect();
    recordAudit(request, { usage: result.usage });
    return { ...base(), ...shape(result.text, result), done: true, ...finalStats(result, timing.startedAt, timing.loadMs) };
  }
  return streamGeneration(request, reply, generation.stream, {
    contentType: "application/x-ndjson",
    write: writeNdjson,
    delta: (delta) => (delta.text ? [{ ...base(), ...shape(delta.text), done: false }] : []),
    end: (result) => [{ ...base(), ...shape("", result), done: true, ...finalStats(result, timing.startedAt, timing.loadMs) }],
    error: (httpError) => ({ error: httpError.body.error.message }),
  });
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

/** "1.5B", "360M": Ollama's parameter_size. */
function formatParameterCount(count: number | undefined): string {
  if (!count) return "";
  return count >= 1e9 ? `${(count / 1e9).toFixed(1)}B` : `${Math.round(count / 1e6)}M`;
}

/** The Ollama dialect: thin adapters over the same inference service as the OpenAI routes. */
export function registerOllamaRoutes(app: FastifyInstance, { inference, catalog }: ApiServices): void {
  app.get("/api/version", async () => ({ version: OLLAMA_COMPATIBLE_VERSION }));

  app.get("/api/tags", async () => {
    const models = await catalog.list();
    return {
      models: models.map((model) => {
        const local = model.library;
        return {
          name: model.id,
          model: model.id,
          modified_at: new Date(local?.modifiedAt ?? model.createdAt ?? Date.now()).toISOString(),
          size: local?.sizeBytes ?? 0,
          digest: local?.origin?.sha256 ?? "",
          details: {
            parent_model: "",
            format: local ? "gguf" : "",
            family: local?.architecture ?? "",
            families: local?.architecture ? [local.architecture] : [],
            parameter_size: formatParameterCount(local?.parameterCount),
            quantization_level: local?.quantization ?? "",
          },
          ...(model.kind !== "local" ? { remote_host: model.providers.join(",") } : {}),
        };
      }),
    };
  });

  app.get("/api/ps", async () => ({
    models: catalog.running().map(({ loadOptions, ...model }) => ({
      name: model.id,
      model: model.id,
      size: model.memory.ramBytes + model.memory.vramBytes,
      digest: "",
      details: { format: "gguf" },
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
    })),
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
        details: { parent_model: "", format: "", family: "", families: [], parameter_size: "", quantization_level: "" },
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
      details: {
        parent_model: "",
        format: "gguf",
        family: architecture,
        families: architecture ? [architecture] : [],
        parameter_size: formatParameterCount(model.parameterCount),
        quantization_level: model.quantization ?? "",
      },
      model_info: {
        "general.architecture": architecture,
        "general.parameter_count": model.parameterCount ?? 0,
        [`${architecture}.context_length`]: model.contextLength ?? 0,
      },
      capabilities: [
        ...(model.capabilities.includes("completion") ? ["completion"] : []),
        ...(model.capabilities.includes("embedding") ? ["embedding"] : []),
        ...(/\btools\b/.test(template) ? ["tools"] : []),
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
      return { model: served.modelId, created_at: new Date().toISOString(), message: { role: "assistant", content: "" }, done_reason: keepAliveMs === 0 ? "unload" : "load", done: true };
    }
    const responseFormat = toOllamaResponseFormat(body.format);
    const disconnect = abortOnDisconnect(request, reply);
    const generation = await inference.chat(model, messages, {
      ...toOllamaGenerationOptions(body.options),
      ...(responseFormat ? { responseFormat } : {}),
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
    return respond(request, reply, generation, body.stream, { startedAt, loadMs }, (text, result) => ({
      message: {
        role: "assistant",
        content: text,
        ...(result?.toolCalls
          ? { tool_calls: result.toolCalls.map((call) => ({ function: { name: call.name, arguments: JSON.parse(call.arguments) as unknown } })) }
          : {}),
      },
    }));
  });

  app.post("/api/generate", async (request, reply) => {
    const startedAt = performance.now();
    const body = parseBody(ollamaGenerateSchema, request.body);
    const model = requestedModel(body);
    const keepAliveMs = parseKeepAlive(body.keep_alive);
    if (body.images?.length) throw new InvalidArgumentError("images are not supported by this server", "images");
    if (body.prompt === "" && !body.system) {
      const served = await inference.prepare(model, localOptions(keepAliveMs, body.options));
      announceServedBy(reply, served);
      return { model: served.modelId, created_at: new Date().toISOString(), response: "", done_reason: keepAliveMs === 0 ? "unload" : "load", done: true };
    }
    const options = toOllamaGenerationOptions(body.options);
    const responseFormat = toOllamaResponseFormat(body.format);
    const disconnect = abortOnDisconnect(request, reply);
    let generation: StartedGeneration;
    if (body.raw) {
      generation = await inference.complete(model, body.prompt, { ...options, local: localOptions(keepAliveMs, body.options), routing: routingHintsOf(request), signal: disconnect.signal });
      recordAudit(request, { model: generation.modelId, prompt: body.prompt });
    } else {
      // Without `raw`, Ollama wraps the prompt in the model's chat template.
      const messages: ChatMessage[] = [...(body.system ? [{ role: "system" as const, content: body.system }] : []), { role: "user", content: body.prompt }];
      generation = await inference.chat(model, messages, {
        ...options,
        ...(responseFormat ? { responseFormat } : {}),
        local: localOptions(keepAliveMs, body.options),
        routing: routingHintsOf(request),
        signal: disconnect.signal,
      });
      recordAudit(request, { model: generation.modelId, prompt: messages });
    }
    announceServedBy(reply, generation);
    const loadMs = performance.now() - startedAt;
    return respond(request, reply, generation, body.stream, { startedAt, loadMs }, (text) => ({ response: text }));
  });

  app.post("/api/embed", async (request, reply) => {
    const startedAt = performance.now();
    const body = parseBody(ollamaEmbedSchema, request.body);
    const inputs = typeof body.input === "string" ? [body.input] : body.input;
    const result = await inference.embed(requestedModel(body), inputs, { local: localOptions(parseKeepAlive(body.keep_alive), body.options), routing: routingHintsOf(request) });
    announceServedBy(reply, result);
    recordAudit(request, { model: result.modelId, usage: { promptTokens: result.promptTokens, completionTokens: 0 } });
    return {
      model: result.modelId,
      embeddings: result.embeddings,
      total_duration: nanoseconds(performance.now() - startedAt),
      load_duration: 0,
      prompt_eval_count: result.promptTokens,
    };
  });
}
