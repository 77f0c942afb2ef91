import { existsSync } from "node:fs";
import path from "node:path";
import { isLoopbackHost } from "../../core/api/security/hostNames.js";
import { defaultUiDir } from "../../core/api/registerUi.js";
import { createApiServer } from "../../core/api/createApiServer.js";
import { createCore } from "../../core/createCore.js";
import { isFilePath } from "../../core/engine/Engine.js";
import { InvalidArgumentError } from "../../core/errors.js";
import { createLogger } from "../../core/logger.js";
import { loadRouterConfigFile } from "../../core/router/routerConfig.js";
import { CliUsageError } from "../cliError.js";
import { parseServeOptions, SERVE_HELP } from "./serveOptions.js";

/**
 * `marduk-local serve`: starts the core and the HTTP API, then runs until SIGINT/SIGTERM,
 * when it stops accepting requests, unloads models and exits 0.
 */
export async function serveCommand(args: string[]): Promise<number> {
  const options = parseServeOptions(args);
  if (options === "help") {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  if (!isLoopbackHost(options.host) && options.apiKeys.length === 0 && options.localOnlyApiKeys.length === 0) {
    throw new CliUsageError(
      `Refusing to listen on ${options.host} without an API key: anyone on the network could use it. ` +
        "Pass --api-key (or set MARDUK_API_KEY), or listen on 127.0.0.1.",
    );
  }
  const logger = createLogger();
  let routing;
  try {
    routing = options.configFile ? await loadRouterConfigFile(options.configFile) : undefined;
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
  let core;
  try {
    core = createCore({
      ...(routing ? { routing } : {}),
      upstreams: options.upstreams,
      modelHost: options.modelHost,
      modelsDir: options.modelsDir,
      backend: options.backend,
      threads: options.threads,
      logger,
      dataDir: options.dataDir,
      auditPrompts: options.auditPrompts,
      keepAliveMs: options.ttlMinutes === undefined ? undefined : options.ttlMinutes < 0 ? -1 : Math.round(options.ttlMinutes * 60_000),
      memoryBudgetBytes: options.memoryBudgetGb === undefined ? undefined : Math.round(options.memoryBudgetGb * 1e9),
      loadDefaults: {
        ...options.loadOptions,
        contextSize: options.contextSize,
        parallel: options.parallel,
        maxQueue: options.queue,
        queueTimeoutMs: options.queueTimeoutSeconds === undefined ? undefined : options.queueTimeoutSeconds * 1000,
      },
    });
  } catch (error) {
    // A bad provider in the config (an unset ${ENV} key, say) is the user's to fix.
    if (error instanceof InvalidArgumentError) throw new CliUsageError(error.message);
    throw error;
  }

  const app = await createApiServer({
    core,
    apiKeys: options.apiKeys,
    localOnlyApiKeys: options.localOnlyApiKeys,
    allowedHosts: [...options.allowedHosts, ...(isLoopbackHost(options.host) || options.host === "0.0.0.0" || options.host === "::" ? [] : [options.host])],
    corsOrigins: options.corsOrigins,
    bodyLimitBytes: options.bodyLimitBytes,
  });
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, "shutting down");
      await app.close();
      await core.dispose();
    })());

  const address = await app.listen({ host: options.host, port: options.port });
  process.stdout.write(`Marduk Local listening on ${address}\n`);
  // The browser UI and its contract (WebSocket /rpc) are served by createApiServer.
  process.stdout.write(
    existsSync(path.join(defaultUiDir(), "index.html"))
      ? `UI: ${address}/\n`
      : `UI: not built (run \`npx electron-vite build\`); the API works without it\n`,
  );
  process.stdout.write(`Models dir: ${core.modelsDir}\n`);
  for (const provider of core.remoteProviders.list()) process.stdout.write(`Upstream ${provider.config.id}: ${provider.config.baseUrl}\n`);

  const done = new Promise<number>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      // `on`, not `once`: signal-exit (loaded by node-llama-cpp's dependencies) re-raises a signal
      // when it finds no other listener, which would kill the process in the middle of shutdown.
      // A second signal while stopping is ignored; the first one already unloads everything.
      process.on(signal, () => {
        if (stopping) return;
        stop(signal).then(
          () => resolve(0),
          (error: unknown) => {
            logger.error({ err: error }, "shutdown failed");
            resolve(1);
          },
        );
      });
    }
  });
  // Warm llama.cpp in the background so the first request does not pay for it.
  void core.runtime().catch((error: unknown) => logger.error({ err: error }, "llama.cpp runtime failed to start"));
  for (const model of options.models) {
    try {
      // Through residency, so the model counts against the memory budget and follows the TTL.
      // A path is an explicit import by the operator; API requests can only name ids.
      const loaded = await core.residency.load(isFilePath(model) ? core.residency.registerFile(model) : model);
      process.stdout.write(`Loaded ${loaded.id} (${Math.round(loaded.stats.loadMs)} ms)\n`);
    } catch (error) {
      process.stderr.write(`Could not load ${model}: ${(error as Error).message}\n`);
    }
  }
  return done;
}
