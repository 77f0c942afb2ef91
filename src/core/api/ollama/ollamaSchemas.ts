import { z } from "zod";
import { MAX_BATCH_SIZE } from "../../../shared/api/loadOptions.js";
import { withBoundedNesting } from "../validation.js";
import { jsonObjectSchema } from "../openai/chatCompletionSchema.js";

/** Ollama's `options` we honour; unknown keys (num_thread, mirostat, ...) are accepted and ignored. */
export const ollamaOptionsSchema = z
  .object({
    // As `--ctx-size` allows: a context beyond 2^20 tokens is no real request, and it would be reported to every client.
    num_ctx: z.number().int().min(16).max(1 << 20).optional(),
    // Load options, like num_ctx: they apply when the request has to load the model.
    num_batch: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
    use_mmap: z.boolean().optional(),
    use_mlock: z.boolean().optional(),
    num_predict: z.number().int().min(-2).optional(),
    temperature: z.number().min(0).max(2).optional(),
    top_k: z.number().int().min(0).optional(),
    top_p: z.number().min(0).max(1).optional(),
    min_p: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    stop: z.array(z.string().min(1)).max(16).optional(),
    repeat_penalty: z.number().min(0).max(10).optional(),
    presence_penalty: z.number().min(-2).max(2).optional(),
    frequency_penalty: z.number().min(-2).max(2).optional(),
  })
  .passthrough();

const ollamaToolCall = z.object({
  function: z.object({ name: z.string().min(1), arguments: jsonObjectSchema.default({}) }),
});

export const ollamaMessageSchema = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().default(""),
  images: z.array(z.string()).nullish(),
  tool_calls: z.array(ollamaToolCall).optional(),
  tool_name: z.string().optional(),
});

const modelName = { model: z.string().min(1).optional(), name: z.string().min(1).optional() };
/** `format`: "json" or a JSON schema object (bounded outside the union, so the message survives). */
const format = withBoundedNesting(z.union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())])).nullish();
const keepAlive = z.union([z.string(), z.number()]).nullish();
/** `think`: thinking on or off, or a level (gpt-oss's; budgets in reasoningEffort.ts). */
const think = z.union([z.boolean(), z.enum(["low", "medium", "high"])]).nullish();

export const ollamaChatSchema = z.object({
  ...modelName,
  messages: z.array(ollamaMessageSchema).default([]),
  stream: z.boolean().default(true),
  format,
  options: ollamaOptionsSchema.default({}),
  keep_alive: keepAlive,
  tools: z
    .array(
      z.object({
        type: z.literal("function").default("function"),
        function: z.object({ name: z.string().min(1), description: z.string().optional(), parameters: jsonObjectSchema.optional() }),
      }),
    )
    .nullish(),
  think: think,
});

export const ollamaGenerateSchema = z.object({
  ...modelName,
  prompt: z.string().default(""),
  system: z.string().optional(),
  suffix: z.string().optional(),
  template: z.string().optional(),
  raw: z.boolean().default(false),
  images: z.array(z.string()).nullish(),
  stream: z.boolean().default(true),
  format,
  options: ollamaOptionsSchema.default({}),
  keep_alive: keepAlive,
  context: z.array(z.number()).optional(),
  think: think,
});

export const ollamaEmbedSchema = z.object({
  ...modelName,
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  truncate: z.boolean().optional(),
  options: ollamaOptionsSchema.default({}),
  keep_alive: keepAlive,
});

export const ollamaShowSchema = z.object({ ...modelName, verbose: z.boolean().optional() });

/** `/api/embeddings`, the older one-text route (`{embedding}` back). */
export const ollamaLegacyEmbeddingsSchema = z.object({
  ...modelName,
  prompt: z.string().default(""),
  options: ollamaOptionsSchema.default({}),
  keep_alive: keepAlive,
});

/** `/api/pull`: `insecure` means nothing for the hub (always https), so it is accepted. */
export const ollamaPullSchema = z.object({ ...modelName, insecure: z.boolean().optional(), stream: z.boolean().default(true) });

export const ollamaDeleteSchema = z.object(modelName);

export const ollamaCopySchema = z.object({ source: z.string().min(1).max(512), destination: z.string().min(1).max(512) });
