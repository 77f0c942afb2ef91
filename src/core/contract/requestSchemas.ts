import { z } from "zod";
import { FLASH_ATTENTION_MODES, findLoadOptionsProblem, KV_CACHE_TYPES, MAX_BATCH_SIZE, SPECULATIVE_MODES } from "../../shared/api/loadOptions.js";
import { API_KEY_SCOPES } from "../../shared/contract/server.js";
import { InvalidArgumentError } from "../errors.js";
import { boundedJsonObjectSchema, formatParamPath } from "../api/validation.js";
import { providerConfigSchema } from "../router/routerConfig.js";

/**
 * Runtime checks of the contract's requests. Over WebSocket and IPC a request is whatever the
 * other side sent, so every method validates its request object before using it; failures are
 * InvalidArgumentErrors naming the parameter.
 */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, request: unknown): z.infer<Schema> {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    throw new InvalidArgumentError("The request must be an object");
  }
  const parsed = schema.safeParse(request);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = formatParamPath(issue.path);
  const message = issue.code === "unrecognized_keys" ? `Unknown parameter: ${issue.keys.map((key) => `'${key}'`).join(", ")}` : param ? `Invalid value for '${param}': ${issue.message}` : issue.message;
  throw new InvalidArgumentError(message, param || undefined);
}

const id = z.string().min(1).max(512);
const text = (max: number) => z.string().max(max);

export const chatSettingsSchema = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().min(0).max(1).optional(),
  topK: z.number().int().min(0).max(100_000).optional(),
  minP: z.number().min(0).max(1).optional(),
  repeatPenalty: z.number().min(0).max(10).optional(),
  maxTokens: z.number().int().min(1).max(1 << 20).optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  stop: z.array(z.string().min(1).max(256)).max(16).optional(),
  ignoreEos: z.boolean().optional(),
  responseFormat: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("text") }),
      z.strictObject({ type: z.literal("json_object") }),
      // Bounded in nesting as over HTTP: a deep schema must be a 400, not a stack overflow.
      z.strictObject({ type: z.literal("json_schema"), schema: boundedJsonObjectSchema, name: z.string().max(64).optional() }),
    ])
    .optional(),
  contextOverflow: z.enum(["stopAtLimit", "truncateMiddle", "rollingWindow"]).optional(),
});

export const modelIdRequest = z.strictObject({ id });

/** A model load's options (`LoadModelOptions`); combinations llama.cpp refuses are refused here too, naming the option. */
const loadModelOptions = z
  .strictObject({
    contextSize: z.number().int().min(16).max(1 << 20).optional(),
    gpuLayers: z.union([z.enum(["auto", "max"]), z.number().int().min(0).max(10_000)]).optional(),
    parallel: z.number().int().min(1).max(64).optional(),
    ttlMinutes: z.number().min(-1).max(10_000_000).optional(),
    loraAdapters: z.array(z.strictObject({ id, scale: z.number().min(-10).max(10).optional() })).max(8).optional(),
    flashAttention: z.enum(FLASH_ATTENTION_MODES).optional(),
    kvCacheKeyType: z.enum(KV_CACHE_TYPES).optional(),
    kvCacheValueType: z.enum(KV_CACHE_TYPES).optional(),
    batchSize: z.number().int().min(1).max(MAX_BATCH_SIZE).optional(),
    useMmap: z.boolean().optional(),
    useMlock: z.boolean().optional(),
    speculative: z.enum(SPECULATIVE_MODES).optional(),
    draftModel: id.optional(),
  })
  .superRefine((options, context) => {
    const problem = findLoadOptionsProblem(options);
    if (problem) context.addIssue({ code: "custom", path: [problem.param], message: problem.message });
  });

export const loadModelRequest = z.strictObject({ id, options: loadModelOptions.optional() });
export const estimateLoadRequest = loadModelRequest;

export const importFileRequest = z.strictObject({ path: z.string().min(1).max(4096) });

export const searchHubRequest = z.strictObject({
  query: text(200),
  sort: z.enum(["downloads", "likes", "updated"]).optional(),
  limit: z.number().int().min(1).max(100).optional(),
});

const hubRepo = z
  .string()
  .max(200)
  .regex(/^[\w.-]+\/[\w.-]+$/, "expected 'owner/name'")
  // "." and ".." would walk out of the repository in the URLs built from it.
  .refine((repo) => !repo.split("/").some((segment) => /^\.+$/.test(segment)), "expected 'owner/name'");

export const hubFilesRequest = z.strictObject({
  repo: hubRepo,
  contextSize: z.number().int().min(16).max(1 << 20).optional(),
});
export const modelCardRequest = z.strictObject({ repo: hubRepo });
/** The token's own rules (visible ASCII) are checked by HubTokenStore.set, which names them. */
export const setHubTokenRequest = z.strictObject({ token: z.string().max(4096) });

export const startDownloadRequest = z.strictObject({ ref: z.string().min(1).max(2048) });
export const downloadIdRequest = z.strictObject({ id });

export const sendRequest = z.strictObject({ conversationId: id, content: z.string().min(1).max(1_000_000) });
export const regenerateRequest = z.strictObject({ conversationId: id });
export const retryRequest = z.strictObject({ conversationId: id });
export const editAndResendRequest = z.strictObject({ conversationId: id, messageId: id, content: z.string().min(1).max(1_000_000) });
export const stopRequest = z.strictObject({ generationId: id });
export const contextUsageRequest = z.strictObject({ conversationId: id });

export const conversationIdRequest = z.strictObject({ id });
export const createConversationRequest = z.strictObject({
  title: text(200).optional(),
  modelId: id.optional(),
  systemPrompt: text(100_000).optional(),
  settings: chatSettingsSchema.optional(),
});
export const updateConversationRequest = z.strictObject({
  id,
  title: text(200).optional(),
  /** An empty string removes the model. */
  modelId: z.string().max(512).optional(),
  systemPrompt: text(100_000).optional(),
  settings: chatSettingsSchema.optional(),
});
export const messageRequest = z.strictObject({ conversationId: id, messageId: id });
export const exportConversationRequest = z.strictObject({ id, format: z.enum(["json", "markdown"]) });

export const startServerRequest = z.strictObject({
  host: z.string().min(1).max(255).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
});
export const createKeyRequest = z.strictObject({ name: z.string().trim().min(1).max(100), scope: z.enum(API_KEY_SCOPES).optional(), localOnly: z.boolean().optional() });
export const revokeKeyRequest = z.strictObject({ id });
export const corsOriginsRequest = z.strictObject({ origins: z.array(z.string().min(1).max(2048)).max(64) });

/** A remote provider's settings: the config file's schema, so both name bad fields the same way. */
export const saveProviderRequest = providerConfigSchema;
export const providerIdRequest = z.strictObject({ id });
export const usageRequest = z.strictObject({ sinceMs: z.number().min(0).max(8.64e15).optional() });

export const updateSettingsRequest = z.strictObject({
  /** An empty string removes the default model. */
  defaultModelId: z.string().max(512).optional(),
  defaultSystemPrompt: text(100_000).optional(),
  theme: z.enum(["system", "light", "dark"]).optional(),
  defaultChatSettings: chatSettingsSchema.optional(),
});
export const modelDefaultsRequest = z.strictObject({ modelId: id });
export const setModelDefaultsRequest = z.strictObject({ modelId: id, settings: chatSettingsSchema, systemPrompt: text(100_000).optional() });
export const resolveChatRequest = z.strictObject({ modelId: id.optional(), overrides: chatSettingsSchema.optional() });
export const savePresetRequest = z.strictObject({ name: z.string().min(1).max(100), settings: chatSettingsSchema, systemPrompt: text(100_000).optional() });
export const deletePresetRequest = z.strictObject({ name: z.string().min(1).max(100) });
