import { z } from "zod";
import { jsonObjectSchema } from "../openai/chatCompletionSchema.js";

// Built on a request's first use (z.lazy), as the OpenAI schemas are: no start-up cost.

/**
 * Content blocks of the given kinds, checked by their `type`: a block of any other type
 * (image, document, a server tool's result) is a 400 that names it, and a known block with a
 * bad field is a 400 that names the field.
 */
function blocksOf<Union extends z.ZodType>(union: Union, types: readonly string[], accepted: string) {
  // The union runs on any object with a string `type`: its input type is that object's.
  const byType = union as unknown as z.ZodType<z.output<Union>, { [key: string]: unknown; type: string }>;
  return z.array(
    z
      .looseObject({ type: z.string() })
      .superRefine((block, context) => {
        if (!types.includes(block.type)) context.addIssue({ code: "custom", message: `'${block.type}' content blocks are not supported by this server (${accepted} are)` });
      })
      .pipe(byType),
  );
}

const textBlock = () => z.object({ type: z.literal("text"), text: z.string() });

/**
 * Content as a string or blocks, read as blocks (a string is one text block). Not a union: a
 * union that fails in both branches reports only "Invalid input", not the bad block's field.
 */
const stringOrBlocks = <Blocks extends z.ZodType>(blocks: Blocks) =>
  z.preprocess((value) => (typeof value === "string" ? [{ type: "text", text: value }] : value), blocks);

const contentBlocks = () =>
  blocksOf(
    z.discriminatedUnion("type", [
      textBlock(),
      z.object({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: jsonObjectSchema }),
      z.object({
        type: z.literal("tool_result"),
        tool_use_id: z.string().min(1),
        content: stringOrBlocks(blocksOf(textBlock(), ["text"], "text blocks")).optional(),
        is_error: z.boolean().optional(),
      }),
      // Thinking sent back with an assistant turn: accepted, and left out of the prompt (see toChatRequest).
      z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() }),
      z.object({ type: z.literal("redacted_thinking"), data: z.string() }),
    ]),
    ["text", "tool_use", "tool_result", "thinking", "redacted_thinking"],
    "text, tool_use, tool_result and thinking blocks",
  );

const messageSchema = () =>
  z.object({
    role: z.enum(["user", "assistant"]),
    content: stringOrBlocks(contentBlocks()),
  });

export type AnthropicMessage = z.infer<ReturnType<typeof messageSchema>>;
export type AnthropicContentBlock = AnthropicMessage["content"][number];

/** Client tools; server tools (`web_search_…`, `bash_…`: a `type` other than "custom") are refused. */
const toolSchema = () =>
  z.object({
    type: z
      .string()
      .optional()
      .refine((type) => type === undefined || type === "custom", { message: "Only custom (client) tools are supported by this server, not Anthropic's server tools" }),
    name: z.string().min(1).max(128),
    description: z.string().optional(),
    input_schema: jsonObjectSchema,
  });

const toolChoiceSchema = () =>
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("tool"), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal("none") }),
  ]);

/** `display` is accepted and ignored: thinking is always shown as the model wrote it. */
const thinkingSchema = () => {
  const display = z.enum(["summarized", "omitted"]).nullish();
  return z.discriminatedUnion("type", [
    z.object({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1), display }),
    z.object({ type: z.literal("adaptive"), display }),
    z.object({ type: z.literal("between_tools") }),
    z.object({ type: z.literal("disabled") }),
  ]);
};

/** Structured output (`format`) and effort (the thinking budget when `thinking` sets none). */
const outputConfigSchema = () =>
  z.object({
    effort: z.enum(["low", "medium", "high", "xhigh", "max"]).nullish(),
    format: z.object({ type: z.literal("json_schema"), schema: jsonObjectSchema }).nullish(),
  });

/** The fields `/v1/messages` and `/v1/messages/count_tokens` share: what makes up the prompt. */
const promptFields = () => ({
  model: z.string().min(1),
  system: z.union([z.string(), z.array(textBlock())]).optional(),
  messages: z.array(messageSchema()).min(1),
  tools: z.array(toolSchema()).max(128).optional(),
  tool_choice: toolChoiceSchema().optional(),
  thinking: thinkingSchema().optional(),
  output_config: outputConfigSchema().optional(),
});

/** `POST /v1/messages`. Unknown fields are ignored, as Anthropic's own optional ones (service_tier, …) are. */
export const messagesRequestSchema = z.lazy(() =>
  z.object({
    ...promptFields(),
    // Required, as Anthropic requires it.
    max_tokens: z.number().int().min(1),
    // The engine's limit is 16 stop strings.
    stop_sequences: z.array(z.string().min(1)).max(16).optional(),
    // Sampling: the SDK's current types no longer list these, but the API takes them and clients send them.
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stream: z.boolean().optional(),
    metadata: z.object({ user_id: z.string().max(1024).nullish() }).optional(),
    service_tier: z.string().optional(),
  }),
);

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** `POST /v1/messages/count_tokens`. */
export const countTokensRequestSchema = z.lazy(() => z.object(promptFields()));

export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;
