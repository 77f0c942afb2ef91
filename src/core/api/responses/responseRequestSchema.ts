import { z } from "zod";
import { jsonObjectSchema } from "../openai/chatCompletionSchema.js";
import { REASONING_EFFORTS } from "../reasoningEffort.js";

// Request schemas of the OpenAI Responses API, built on a route's first request (z.lazy), as
// the chat completion schemas are. Built-in tools and unknown tool choices pass the schema and
// are refused by name in toChatTurn.ts, so the 400 says which tool is not supported.

const contentPart = () =>
  z.union([
    z.discriminatedUnion("type", [
      z.object({ type: z.literal("input_text"), text: z.string() }),
      // Output items sent back as input carry annotations and logprobs: accepted, not used.
      z.object({ type: z.literal("output_text"), text: z.string() }).loose(),
      z.object({ type: z.literal("refusal"), refusal: z.string() }),
    ]),
    z.object({ type: z.string() }).refine(() => false, {
      message: "Only 'input_text', 'output_text' and 'refusal' content parts are supported by this server (no images, files or audio)",
    }),
  ]);

const messageItem = () =>
  z
    .object({
      type: z.literal("message"),
      id: z.string().min(1).optional(),
      role: z.enum(["user", "system", "developer", "assistant"]),
      content: z.union([z.string(), z.array(contentPart())]),
      status: z.string().optional(),
    })
    .loose();

const functionCallItem = () =>
  z.object({
    type: z.literal("function_call"),
    id: z.string().min(1).optional(),
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
    status: z.string().optional(),
  });

const functionCallOutputItem = () =>
  z.object({
    type: z.literal("function_call_output"),
    id: z.string().min(1).nullish(),
    call_id: z.string().min(1),
    output: z.union([z.string(), z.array(contentPart())]),
    status: z.string().nullish(),
  });

/** An earlier turn's thinking sent back: accepted and left out of the prompt (chat templates drop past thinking too). */
const reasoningItem = () => z.object({ type: z.literal("reasoning"), id: z.string().optional() }).loose();

/** One input item; a message may leave out `type` (the easy input message form). */
const inputItem = () =>
  z.preprocess(
    (item) => (typeof item === "object" && item !== null && !("type" in item) && "role" in item ? { ...item, type: "message" } : item),
    z.discriminatedUnion("type", [messageItem(), functionCallItem(), functionCallOutputItem(), reasoningItem()]),
  );

export type ResponseInputItem = z.infer<ReturnType<typeof inputItem>>;

const functionTool = () =>
  z.object({
    type: z.literal("function"),
    name: z.string().min(1).max(64),
    description: z.string().nullish(),
    parameters: jsonObjectSchema.nullish(),
    strict: z.boolean().nullish(),
  });

export type FunctionTool = z.infer<ReturnType<typeof functionTool>>;

/** Any other tool type (web_search, file_search, mcp...): refused by name in toChatTurn. */
const otherTool = () => z.object({ type: z.string().refine((type) => type !== "function") }).loose();

const toolChoice = () =>
  z.union([
    z.enum(["none", "auto", "required"]),
    z.object({ type: z.literal("function"), name: z.string().min(1) }),
    z.object({ type: z.string().refine((type) => type !== "function") }).loose(),
  ]);

const textFormat = () =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      name: z.string().min(1).max(64),
      schema: jsonObjectSchema,
      description: z.string().nullish(),
      strict: z.boolean().nullish(),
    }),
  ]);

export const responseRequestSchema = z.lazy(() =>
  z.object({
    /** Optional with `previous_response_id`: the previous response's model. */
    model: z.string().min(1).nullish(),
    // A string is the short form of one user message.
    input: z.preprocess((input) => (typeof input === "string" ? [{ type: "message", role: "user", content: input }] : input), z.array(inputItem()).max(10_000)),
    instructions: z.string().nullish(),
    previous_response_id: z.string().min(1).nullish(),
    store: z.boolean().nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_obfuscation: z.boolean().nullish() }).nullish(),
    tools: z.array(z.union([functionTool(), otherTool()])).max(128).nullish(),
    tool_choice: toolChoice().nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    max_tool_calls: z.number().int().nullish(),
    text: z
      .object({ format: textFormat().nullish(), verbosity: z.enum(["low", "medium", "high"]).nullish() })
      .nullish(),
    max_output_tokens: z.number().int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    top_logprobs: z.number().int().nullish(),
    reasoning: z
      .object({
        effort: z.enum(REASONING_EFFORTS).nullish(),
        summary: z.string().nullish(),
        generate_summary: z.string().nullish(),
      })
      .nullish(),
    metadata: z.record(z.string().max(64), z.string().max(512)).refine((value) => Object.keys(value).length <= 16, {
      message: "At most 16 metadata keys are allowed",
    }).nullish(),
    user: z.string().max(1024).nullish(),
    safety_identifier: z.string().max(1024).nullish(),
    prompt_cache_key: z.string().max(1024).nullish(),
    service_tier: z.string().nullish(),
    truncation: z.enum(["auto", "disabled"]).nullish(),
    include: z.array(z.string()).nullish(),
    background: z.boolean().nullish(),
    conversation: z.unknown().optional(),
    prompt: z.unknown().optional(),
    // Ours, as on chat completions: `cache: false` skips the response cache; llama.cpp's sampling extensions.
    cache: z.boolean().nullish(),
    seed: z.number().int().nullish(),
    top_k: z.number().int().min(0).nullish(),
    min_p: z.number().min(0).max(1).nullish(),
    repeat_penalty: z.number().min(0).max(10).nullish(),
  }),
);

export type ResponseRequest = z.infer<typeof responseRequestSchema>;

/** Query of `GET /v1/responses/{id}/input_items`. */
export const inputItemsQuerySchema = z.lazy(() =>
  z.object({
    order: z.enum(["asc", "desc"]).optional(),
    limit: z.coerce.number().int().min(1).max(100).optional(),
    after: z.string().min(1).optional(),
    include: z.unknown().optional(),
  }),
);
