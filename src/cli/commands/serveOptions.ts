import { defaultModelsDir } from "../../core/appPaths.js";
import { BACKENDS, type Backend } from "../../core/llama/backend.js";
import type { RuntimeLoadOptions } from "../../shared/api/loadOptions.js";
import { CliUsageError } from "../cliError.js";
import { LOAD_OPTION_FLAGS, LOAD_OPTION_HELP, parseLoadOptionFlags } from "../loadOptionFlags.js";
import { parseCommandArgs, parseIntegerFlag, parseNumberFlag } from "../parseCommandArgs.js";

export interface ServeOptions {
  host: string;
  port: number;
  modelsDir: string;
  models: string[];
  threads?: number;
  backend: Backend;
  contextSize?: number;
  parallel?: number;
  queue?: number;
  /** Seconds a request may wait for a free sequence. */
  queueTimeoutSeconds?: number;
  /** API keys (`--api-key`, repeatable, plus env MARDUK_API_KEY, comma-separated). */
  apiKeys: string[];
  /** Keys whose requests never leave this machine (`--local-only-key`, repeatable). */
  localOnlyApiKeys: string[];
  allowedHosts: string[];
  corsOrigins: string[];
  bodyLimitBytes?: number;
  dataDir?: string;
  auditPrompts: boolean;
  /** Idle minutes before a model unloads (`--ttl`); 0: as soon as idle; negative: never. */
  ttlMinutes?: number;
  /** Most memory loaded models may take together, in GB (`--memory-budget`). */
  memoryBudgetGb?: number;
  /** Router config file (`--config`, YAML or JSON). */
  configFile?: string;
  /** Remote OpenAI-compatible servers (`--upstream`, with `--upstream-key`). */
  upstreams: { url: string; apiKey?: string }[];
  /** Where models run (`--model-host`): a host process each, or this process. */
  modelHost: "process" | "in-process";
  /** Runtime options of every load (`--flash-attention`, `--kv-cache-type`, `--batch-size`, `--no-mmap`, `--mlock`); only those given. */
  loadOptions: RuntimeLoadOptions;
}

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 11435;

export const SERVE_HELP = `Usage: marduk-local serve [options]

Runs the local API server (headless).

Options:
  --host <address>        Address to listen on (default ${DEFAULT_HOST})
  --port <number>         Port to listen on, 0 for any free port (default ${DEFAULT_PORT})
  --models-dir <dir>      Folder of GGUF models (default: env MARDUK_MODELS_DIR,
                          else ${defaultModelsDir({}, process.platform)})
  --model <id|file>       Load this model at start; repeatable
  --threads <n>           CPU threads per evaluation (default: about one per physical core)
  --gpu <backend>         auto | cuda | vulkan | metal | cpu (default auto)
  --ctx-size <n>          Context size per sequence (default: model's, at most 4096)
  --parallel <n>          Sequences generating at once per model (default 4)
  --queue <n>             Requests waiting per model before 429 (default 64)
  --queue-timeout <s>     Seconds a request may wait for a free sequence (default 120)
${LOAD_OPTION_HELP}  --api-key <key>         Require this API key (Authorization: Bearer); repeatable;
                          env MARDUK_API_KEY (comma-separated) adds more. Required off loopback.
  --local-only-key <key>  Also accept this API key; its requests never go to an upstream
                          (the data-sovereignty switch per client); repeatable
  --allowed-host <name>   Also accept this host name in the Host header; repeatable
                          (localhost and IP addresses are always accepted)
  --cors-origin <origin>  Let web pages from this exact origin call the API; repeatable
                          (default: none, no CORS headers)
  --body-limit <MB>       Largest request body (default 10)
  --data-dir <dir>        App data folder (database, audit log) (default: env MARDUK_DATA_DIR,
                          else the OS data folder)
  --audit-prompts         Also keep prompt text in the audit log (default: off)
  --ttl <minutes>         Unload a model after this many idle minutes; 0 as soon as idle,
                          --ttl=-1 never (default 15; a request's keep_alive overrides it)
  --memory-budget <GB>    Most memory (RAM + VRAM, estimated) loaded models may take together;
                          least recently used idle models are unloaded to make room
                          (default: what the machine has free)
  --config <file>         Router config (YAML or JSON): remote providers, aliases, policies,
                          cache (see README, "Scaling out")
  --upstream <url>        A remote OpenAI-compatible server (another marduk-local serve, vLLM,
                          llama-server, ...) whose models this server also serves, after its
                          own; repeatable (ids upstream-1, upstream-2, ...)
  --upstream-key <key>    API key of the upstreams: one for all, or one per --upstream in order
  --model-host <where>    process: each loaded model in a process of its own, so a crash
                          (a llama.cpp assert, a hostile chat template) fails only its requests;
                          in-process: in the server's process (default process)
  -h, --help              Show this help
`;


/** An exact origin: scheme, host and port, no path; `*` is refused (never a wildcard). */
function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliUsageError(`--cors-origin must be an origin like https://app.example.com, got '${value}'`);
  }
  if (!["http:", "https:"].includes(url.protocol) || url.origin !== value.replace(/\/$/, "")) {
    throw new CliUsageError(`--cors-origin must be an exact origin like https://app.example.com (no path, no wildcard), got '${value}'`);
  }
  return url.origin;
}


/** Parses `serve`'s flags. @throws CliUsageError */
export function parseServeOptions(args: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions | "help" {
  const parsed = parseCommandArgs({
    args,
    allowPositionals: false,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "models-dir": { type: "string" },
      model: { type: "string", multiple: true },
      threads: { type: "string" },
      gpu: { type: "string" },
      "ctx-size": { type: "string" },
      parallel: { type: "string" },
      queue: { type: "string" },
      "queue-timeout": { type: "string" },
      "api-key": { type: "string", multiple: true },
      "local-only-key": { type: "string", multiple: true },
      "allowed-host": { type: "string", multiple: true },
      "cors-origin": { type: "string", multiple: true },
      "body-limit": { type: "string" },
      "data-dir": { type: "string" },
      "audit-prompts": { type: "boolean" },
      ttl: { type: "string" },
      "memory-budget": { type: "string" },
      config: { type: "string" },
      upstream: { type: "string", multiple: true },
      "upstream-key": { type: "string", multiple: true },
      "model-host": { type: "string" },
      ...LOAD_OPTION_FLAGS,
      help: { type: "boolean", short: "h" },
    },
  });
  const values = parsed.values;
  if (values.help) return "help";
  const backend = (values.gpu ?? "auto") as Backend;
  if (!BACKENDS.includes(backend)) throw new CliUsageError(`--gpu must be one of ${BACKENDS.join(", ")}, got '${values.gpu}'`);
  const modelHost = values["model-host"] ?? "process";
  if (modelHost !== "process" && modelHost !== "in-process") throw new CliUsageError(`--model-host must be process or in-process, got '${modelHost}'`);
  return {
    host: values.host ?? DEFAULT_HOST,
    port: parseIntegerFlag("port", values.port, 0, 65535) ?? DEFAULT_PORT,
    modelsDir: values["models-dir"] ?? defaultModelsDir(env),
    models: values.model ?? [],
    threads: parseIntegerFlag("threads", values.threads, 1, 1024),
    backend,
    contextSize: parseIntegerFlag("ctx-size", values["ctx-size"], 16, 1 << 20),
    parallel: parseIntegerFlag("parallel", values.parallel, 1, 64),
    queue: parseIntegerFlag("queue", values.queue, 0, 100_000),
    queueTimeoutSeconds: parseIntegerFlag("queue-timeout", values["queue-timeout"], 1, 86_400),
    apiKeys: [...(values["api-key"] ?? []), ...(env.MARDUK_API_KEY ?? "").split(",")].map((key) => key.trim()).filter(Boolean),
    localOnlyApiKeys: (values["local-only-key"] ?? []).map((key) => key.trim()).filter(Boolean),
    allowedHosts: values["allowed-host"] ?? [],
    corsOrigins: (values["cors-origin"] ?? []).map(parseOrigin),
    bodyLimitBytes: values["body-limit"] === undefined ? undefined : parseIntegerFlag("body-limit", values["body-limit"], 1, 1024)! * 1024 * 1024,
    dataDir: values["data-dir"],
    auditPrompts: values["audit-prompts"] ?? false,
    ttlMinutes: parseNumberFlag("ttl", values.ttl, -1, 10_000_000),
    memoryBudgetGb: parseNumberFlag("memory-budget", values["memory-budget"], 0.001, 1_000_000),
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    upstreams: parseUpstreams(values.upstream ?? [], values["upstream-key"] ?? []),
    modelHost,
    loadOptions: parseLoadOptionFlags(values),
  };
}

/** `--upstream` URLs with their keys: one `--upstream-key` for all, or one per upstream in order. */
function parseUpstreams(urls: string[], keys: string[]): { url: string; apiKey?: string }[] {
  if (keys.length > 1 && keys.length !== urls.length) {
    throw new CliUsageError(`Give one --upstream-key for all upstreams or one per --upstream (${urls.length}), got ${keys.length}`);
  }
  if (keys.length > 0 && urls.length === 0) throw new CliUsageError("--upstream-key needs an --upstream");
  return urls.map((url, index) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliUsageError(`--upstream must be a URL like http://10.0.0.2:11435, got '${url}'`);
    }
    if (!["http:", "https:"].includes(parsed.protocol)) throw new CliUsageError(`--upstream must be an http or https URL, got '${url}'`);
    const apiKey = keys.length === 1 ? keys[0] : keys[index];
    return { url, ...(apiKey ? { apiKey } : {}) };
  });
}
