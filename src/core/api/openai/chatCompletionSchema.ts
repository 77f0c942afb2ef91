import { z } from "zod";
import { boundedJsonObjectSchema } from "../validation.js";
import { REASONING_EFFORTS } from "../reasoningEffort.js";

export { MAX_JSON_NESTING, withBoundedNesting } from "../validation.js";

// The request schemas are built when a request first needs them (z.lazy): building them all
// takes ~8 ms, a noticeable part of the server's start-up. Each is built once, on its first request.

const chatMessageSchema = () => {
  const textPart = z.object({ type: z.literal("text"), text: z.string() });
  /** Content as a string or an array of parts; only text parts are supported (no vision in this build). */
  const content = z.union([
    z.string(),
    z.array(
      z.union([
        textPart,
        z
          .object({ type: z.string() })
          .refine(() => false, { message: "Only 'text' content parts are supported by this server" }),
      ]),
    ),
  ]);
  const toolCall = z.object({
    id: z.string().min(1),
    type: z.literal("function").default("function"),
    function: z.object({ name: z.string().min(1), arguments: z.string() }),
  });
  return z.discriminatedUnion("role", [
    z.object({ role: z.literal("system"), content, name: z.string().optional() }),
    z.object({ role: z.literal("developer"), content, name: z.string().optional() }),
    z.object({ role: z.literal("user"), content, name: z.string().optional() }),
    z.object({
      role: z.literal("assistant"),
      content: content.nullish(),
      name: z.string().optional(),
      tool_calls: z.array(toolCall).optional(),
      refusal: z.string().nullish(),
    }),
    z.object({ role: z.literal("tool"), content, tool_call_id: z.string().min(1) }),
  ]);
};

export type OpenAiChatMessage = z.infer<ReturnType<typeof chatMessageSchema>>;

export const jsonObjectSchema = boundedJsonObjectSchema;

const toolSchema = () =>
  z.object({
    type: z.literal("function"),
    function: z.object({
      name: z.string().min(1).max(64),
      description: z.string().optional(),
      parameters: jsonObjectSchema.optional(),
      strict: z.boolean().nullish(),
    }),
  });

const toolChoiceSchema = () =>
  z.union([
    z.enum(["none", "auto", "required"]),
    z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
  ]);

const responseFormatSchema = () =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      json_schema: z.object({
        name: z.string().min(1).max(64),
        description: z.string().optional(),
        schema: jsonObjectSchema.optional(),
        strict: z.boolean().nullish(),
      }),
    }),
  ]);

/** Sampling fields shared by /v1/chat/completions and /v1/completions, with our extensions. */
const samplingFields = () => ({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  seed: z.number().int().nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(16)]).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
  // Routing: a conversation's key keeps it on one target; `cache: false` skips the response cache.
  prompt_cache_key: z.string().max(1024).nullish(),
  cache: z.boolean().nullish(),
  // Extensions (llama.cpp and vLLM spell them the same way).
  top_k: z.number().int().min(0).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repeat_penalty: z.number().min(0).max(10).nullish(),
  ignore_eos: z.boolean().nullish(),
  // Ours: speculative decoding for this request, on a model loaded with it (false turns it off).
  speculative: z.boolean().nullish(),
  // Accepted for compatibility; only the value that means "one plain answer" is supported.
  n: z.number().int().nullish(),
  logprobs: z.union([z.boolean(), z.number()]).nullish(),
  top_logprobs: z.number().int().nullish(),
  logit_bias: z.record(z.string(), z.number()).nullish(),
});

export const chatCompletionRequestSchema = z.lazy(() =>
  z.object({
    ...samplingFields(),
    messages: z.array(chatMessageSchema()).min(1),
    max_completion_tokens: z.number().int().min(1).nullish(),
    response_format: responseFormatSchema().nullish(),
    tools: z.array(toolSchema()).max(128).nullish(),
    tool_choice: toolChoiceSchema().nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    modalities: z.array(z.string()).nullish(),
    audio: z.unknown().optional(),
    store: z.boolean().nullish(),
    metadata: z.record(z.string(), z.string()).nullish(),
    // Thinking of models with a thinking section: a level (see reasoningEffort.ts), or ours
    // (OpenRouter's spelling) with an exact budget; `max_tokens: 0` or `enabled: false` is none.
    reasoning_effort: z.enum(REASONING_EFFORTS).nullish(),
    reasoning: z
      .object({ effort: z.enum(REASONING_EFFORTS).nullish(), max_tokens: z.number().int().min(0).nullish(), enabled: z.boolean().nullish() })
      .nullish(),
    service_tier: z.string().nullish(),
  }),
);

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z.lazy(() =>
  z.object({
    ...samplingFields(),
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
    echo: z.boolean().nullish(),
    best_of: z.number().int().nullish(),
    suffix: z.string().nullish(),
  }),
);

export type CompletionRequest = z.infer<typeof completionRequestSchema>;

const tokenId = z.number().int().min(0);

export const embeddingRequestSchema = z.lazy(() =>
  z.object({
    model: z.string().min(1),
    // Text(s), or token ids as OpenAI takes them: one array of ids, or an array of them.
    input: z.union([z.string(), z.array(z.string()).min(1).max(2048), z.array(tokenId).min(1).max(1 << 20), z.array(z.array(tokenId).min(1).max(1 << 20)).min(1).max(2048)]),
    encoding_format: z.enum(["float", "base64"]).optional(),
    dimensions: z.number().int().nullish(),
    user: z.string().optional(),
    prompt_cache_key: z.string().max(1024).nullish(),
  }),
);

export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;
