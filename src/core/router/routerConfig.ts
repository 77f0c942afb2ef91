import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { formatParamPath } from "../api/validation.js";
import { InvalidArgumentError } from "../errors.js";
import { LOCAL_PROVIDER_ID } from "./LocalProvider.js";
import { ROUTING_POLICIES } from "./routingPolicies.js";

const providerId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-'")
  .refine((id) => id !== LOCAL_PROVIDER_ID, `'${LOCAL_PROVIDER_ID}' is this machine's provider`);

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "must be an http(s) URL without credentials (put the key in apiKey)");

const milliseconds = z.number().int().min(1).max(24 * 3600_000);

/** A remote OpenAI-compatible provider, as written in the config file or sent by the app. */
export const providerConfigSchema = z.strictObject({
  /** Unique id; responses name it in `x-marduk-provider`. */
  id: providerId,
  /** Base URL of its OpenAI API, usually ending in `/v1`. */
  baseUrl: httpUrl,
  /** The key, or `${ENV_VAR}` to read it from the environment. */
  apiKey: z.string().max(4096).optional(),
  /** Models it serves; discovered from `/v1/models` when absent. */
  models: z.array(z.string().min(1).max(512)).max(1000).optional(),
  /** US dollars per million tokens. */
  price: z.strictObject({ input: z.number().min(0).max(1e6).default(0), output: z.number().min(0).max(1e6).default(0) }).optional(),
  maxConcurrency: z.number().int().min(1).max(10_000).optional(),
  timeouts: z.strictObject({ connectMs: milliseconds.optional(), firstTokenMs: milliseconds.optional(), totalMs: milliseconds.optional() }).optional(),
  capabilities: z
    .strictObject({
      chat: z.boolean().optional(),
      embeddings: z.boolean().optional(),
      tools: z.boolean().optional(),
      jsonSchema: z.boolean().optional(),
      contextLength: z.number().int().min(1).max(100_000_000).optional(),
    })
    .optional(),
});

export type ProviderConfig = z.infer<typeof providerConfigSchema>;

const routeSchema = z.strictObject({
  alias: z.string().min(1).max(512),
  policy: z.enum(ROUTING_POLICIES).default("local-first"),
  localOnly: z.boolean().default(false),
  targets: z
    .array(z.strictObject({ provider: z.string().min(1).max(64), model: z.string().min(1).max(512), weight: z.number().min(0).max(1e6).optional() }))
    .min(1)
    .max(100),
});

export const routerConfigSchema = z
  .strictObject({
    providers: z.array(providerConfigSchema).max(100).default([]),
    routes: z.array(routeSchema).max(1000).default([]),
    router: z
      .strictObject({
        /** Time between health checks of remotes, in ms; 0: none. Default: 30000. */
        healthIntervalMs: z.number().int().min(0).max(24 * 3600_000).optional(),
        breaker: z.strictObject({ failureThreshold: z.number().int().min(1).max(1000).optional(), cooldownMs: z.number().int().min(0).max(24 * 3600_000).optional() }).optional(),
        cache: z
          .strictObject({
            maxEntries: z.number().int().min(0).max(1_000_000).optional(),
            maxBytes: z.number().int().min(0).max(16 * 1024 ** 3).optional(),
            ttlMs: z.number().int().min(0).max(30 * 24 * 3600_000).optional(),
          })
          .optional(),
        defaultPolicy: z.enum(ROUTING_POLICIES).optional(),
      })
      .default({}),
  })
  .superRefine((config, context) => {
    const ids = new Set<string>();
    config.providers.forEach((provider, index) => {
      if (ids.has(provider.id)) context.addIssue({ code: "custom", path: ["providers", index, "id"], message: `duplicate provider id '${provider.id}'` });
      ids.add(provider.id);
    });
    const aliases = new Set<string>();
    config.routes.forEach((route, index) => {
      if (aliases.has(route.alias)) context.addIssue({ code: "custom", path: ["routes", index, "alias"], message: `duplicate alias '${route.alias}'` });
      aliases.add(route.alias);
      route.targets.forEach((target, targetIndex) => {
        if (target.provider !== LOCAL_PROVIDER_ID && !ids.has(target.provider)) {
          context.addIssue({ code: "custom", path: ["routes", index, "targets", targetIndex, "provider"], message: `no provider '${target.provider}' (use 'local' or an id from providers)` });
        }
        if (route.localOnly && target.provider !== LOCAL_PROVIDER_ID) {
          context.addIssue({ code: "custom", path: ["routes", index, "targets", targetIndex, "provider"], message: "a localOnly route can only have 'local' targets" });
        }
      });
    });
  });

export type RouterConfig = z.infer<typeof routerConfigSchema>;

/** Validates a parsed config; errors name the bad field ("providers[1].baseUrl: ..."). @throws InvalidArgumentError */
export function parseRouterConfig(value: unknown, source = "config"): RouterConfig {
  const parsed = routerConfigSchema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = formatParamPath(issue.path);
  const message = issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.map((key) => `'${key}'`).join(", ")}` : issue.message;
  throw new InvalidArgumentError(`${source}: ${field ? `${field}: ` : ""}${message}`, field || undefined);
}

/** Reads a YAML or JSON config file (YAML is a superset of JSON). @throws InvalidArgumentError */
export async function loadRouterConfigFile(file: string): Promise<RouterConfig> {
  // Imported only when a config is given.
  const { parse: parseYaml } = await import("yaml");
  const name = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InvalidArgumentError(`Cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let value: unknown;
  try {
    // Aliases are refused (a "billion laughs" file must not take the process down).
    value = parseYaml(text, { maxAliasCount: 0 });
  } catch (error) {
    throw new InvalidArgumentError(`${name}: not valid YAML or JSON (${(error as Error).message.split("\n")[0]})`);
  }
  return parseRouterConfig(value, name);
}

/** `${NAME}` in a key means the environment variable NAME. @throws InvalidArgumentError when it is unset */
export function resolveSecret(value: string | undefined, field: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (value === undefined) return undefined;
  const reference = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value.trim());
  if (!reference) return value;
  const resolved = env[reference[1]!];
  if (resolved === undefined || resolved === "") throw new InvalidArgumentError(`${field}: the environment variable ${reference[1]} is not set`, field);
  return resolved;
}
