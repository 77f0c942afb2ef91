import net from "node:net";
import type { FastifyInstance } from "fastify";
import type { Unsubscribe } from "../../shared/contract/common.js";
import { createApiServer } from "../api/createApiServer.js";
import type { Core } from "../createCore.js";
import { InvalidArgumentError } from "../errors.js";
import { SettingsStore } from "../storage/SettingsStore.js";
import { fastifyAddress, type ServerAddress, type ServerController } from "./ServerController.js";

/** Setting key of the desktop server's address and whether it runs. */
export const DESKTOP_SERVER_SETTING = "server.desktop";

export const DEFAULT_DESKTOP_HOST = "127.0.0.1";
export const DEFAULT_DESKTOP_PORT = 11435;

interface SavedServer {
  host: string;
  port: number;
  /** Whether it was running when last changed (restored at the next start). */
  enabled: boolean;
}

/** Options of {@link LocalApiServer}. */
export interface LocalApiServerOptions {
  core: Core;
  /** Address used until the user picks one. Default: 127.0.0.1:11435. */
  defaultHost?: string;
  defaultPort?: number;
}

/**
 * The desktop app's local API (OpenAI and Ollama dialects on localhost), which the user starts
 * and stops from the Server screen. Its address and running state are saved in the settings and
 * restored at the next launch. Keys and CORS origins come from the app (live). The UI itself
 * talks to the core over IPC, so this server serves neither the UI nor the RPC WebSocket.
 */
export class LocalApiServer implements ServerController {
  readonly mode = "desktop" as const;
  readonly hasConfiguredKeys = false;
  readonly configuredCorsOrigins: readonly string[] = [];
  private app: FastifyInstance | undefined;
  private readonly settings: SettingsStore;
  private readonly listeners = new Set<() => void>();
  private queue: Promise<unknown> = Promise.resolve();
  private detach: Unsubscribe | undefined;
  private disposed = false;

  constructor(private readonly options: LocalApiServerOptions) {
    this.settings = new SettingsStore(options.core.database);
  }

  /** Connects this server to the contract's server group. */
  attach(): this {
    this.detach ??= this.options.core.contract.attachServer(this);
    return this;
  }

  address(): ServerAddress {
    const saved = this.saved();
    return fastifyAddress(this.app, { host: saved.host, port: saved.port });
  }

  /** Starts at the saved address when it was running at the last quit (the first launch starts it). Never throws. */
  async restore(): Promise<void> {
    const saved = this.saved();
    if (!saved.enabled) return;
    try {
      await this.start({ host: saved.host, port: saved.port }, { remember: false });
    } catch (error) {
      this.options.core.logger.warn({ err: error, host: saved.host, port: saved.port }, "the local API did not start");
    }
  }

  /**
   * (Re)starts on `host:port`. When the new address cannot be used (port taken, ...), the
   * server goes on at its previous address, if it had one.
   * @throws InvalidArgumentError saying why the address cannot be used.
   */
  start(target: { host: string; port: number }, options: { remember?: boolean } = {}): Promise<void> {
    return this.serialize(async () => {
      if (this.disposed) throw new InvalidArgumentError("The app is shutting down");
      const previous = this.app ? this.address() : undefined;
      await this.closeApp();
      try {
        this.app = await this.listen(target);
      } catch (error) {
        if (previous?.running) this.app = await this.listen(previous).catch(() => undefined);
        this.notify();
        throw error;
      }
      if (options.remember !== false) this.save({ host: target.host, port: target.port, enabled: true });
      this.options.core.logger.info({ url: this.address().url }, "local API listening");
      this.notify();
    });
  }

  private async listen(target: { host: string; port: number }): Promise<FastifyInstance> {
    const app = await createApiServer({
      core: this.options.core,
      rpc: false,
      ui: false,
      announce: false,
      // IP literals and localhost are always accepted; a host name given by the user is too.
      allowedHosts: net.isIP(target.host) === 0 && target.host !== "localhost" ? [target.host] : [],
    });
    try {
      await app.listen({ host: target.host, port: target.port });
      return app;
    } catch (error) {
      await app.close().catch(() => undefined);
      const reason = (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? "the port is in use (is `marduk-local serve` running?)" : (error as Error).message;
      throw new InvalidArgumentError(`Could not listen on ${target.host}:${target.port}: ${reason}`, "port");
    }
  }

  stop(): Promise<void> {
    return this.serialize(async () => {
      await this.closeApp();
      this.save({ ...this.saved(), enabled: false });
      this.notify();
    });
  }

  onChange(listener: () => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops listening (remembering it was running) and disconnects from the contract. */
  async dispose(): Promise<void> {
    await this.serialize(async () => {
      this.disposed = true;
      await this.closeApp();
    });
    this.detach?.();
    this.listeners.clear();
  }

  private async closeApp(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app) await app.close();
  }

  private saved(): SavedServer {
    const value = this.settings.read(DESKTOP_SERVER_SETTING) as Partial<SavedServer> | undefined;
    return {
      host: typeof value?.host === "string" && value.host !== "" ? value.host : (this.options.defaultHost ?? DEFAULT_DESKTOP_HOST),
      port: typeof value?.port === "number" && Number.isInteger(value.port) ? value.port : (this.options.defaultPort ?? DEFAULT_DESKTOP_PORT),
      enabled: typeof value?.enabled === "boolean" ? value.enabled : true,
    };
  }

  private save(value: SavedServer): void {
    this.settings.write(DESKTOP_SERVER_SETTING, value);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** One start/stop at a time. */
  private serialize<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
