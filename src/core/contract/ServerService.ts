import { EventEmitter } from "node:events";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { ApiKeyInfo, ApiKeyScope, ServerApi, ServerStatus } from "../../shared/contract/server.js";
import type { LiveApiAccess } from "../api/security/registerSecurity.js";
import { isLoopbackHost } from "../api/security/hostNames.js";
import { InvalidArgumentError, UnsupportedError } from "../errors.js";
import type { ApiKeyStore } from "../storage/ApiKeyStore.js";
import type { SettingsStore } from "../storage/SettingsStore.js";
import { corsOriginsRequest, createKeyRequest, parseRequest, revokeKeyRequest, startServerRequest } from "./requestSchemas.js";
import type { ServerController } from "./ServerController.js";

/** Setting key of the CORS origins added in the app. */
export const CORS_ORIGINS_SETTING = "server.corsOrigins";

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 11435;

/** An exact http(s) origin, normalised; throws for anything else (paths, wildcards, other schemes). */
export function parseOrigin(value: string, param: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`'${value}' is not an origin like https://app.example.com`, param);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== value.replace(/\/$/, "") || url.username || url.password) {
    throw new InvalidArgumentError(`'${value}' must be an exact origin like https://app.example.com (no path, no wildcard)`, param);
  }
  return url.origin;
}

/**
 * The server group: status of the local API, API keys (SHA-256 only, see ApiKeyStore), CORS
 * origins, and start/stop when the app runs the server (desktop mode). It is also the
 * {@link LiveApiAccess} the HTTP guards read on every request, so keys and origins set in the
 * app apply at once.
 */
export class ServerService implements ServerApi {
  private controller: ServerController | undefined;
  private detachController: Unsubscribe | undefined;
  private readonly events = new EventEmitter<{ status: [ServerStatus] }>();
  private readonly removeStoreListeners: Unsubscribe;
  /** The origins added in the app, read from the settings once and kept in step. */
  private storedOrigins: readonly string[];
  /** What to call when a key is revoked, by key id (see LiveApiAccess.watchKey). */
  private readonly keyWatchers = new Map<string, Set<() => void>>();

  /** What the HTTP guards read per request. */
  readonly access: LiveApiAccess = {
    corsOrigins: () => this.storedOrigins,
    keysRequired: () => this.keys.size > 0,
    verifyKey: (candidate) => this.keys.find(candidate),
    watchKey: (id, onRevoked) => this.watchKey(id, onRevoked),
  };

  constructor(
    private readonly keys: ApiKeyStore,
    private readonly settings: SettingsStore,
  ) {
    this.storedOrigins = this.readStoredOrigins();
    const onKeys = (): void => {
      this.emitStatus();
    };
    const onSetting = (key: string): void => {
      if (key !== CORS_ORIGINS_SETTING) return;
      this.storedOrigins = this.readStoredOrigins();
      this.emitStatus();
    };
    const onRevoked = (id: string): void => {
      const watchers = [...(this.keyWatchers.get(id) ?? [])];
      this.keyWatchers.delete(id);
      // Every watcher runs (each closes its sessions), even when one of them fails.
      const failures: unknown[] = [];
      for (const watcher of watchers) {
        try {
          watcher();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    };
    keys.on("changed", onKeys);
    keys.on("revoked", onRevoked);
    settings.on("changed", onSetting);
    this.removeStoreListeners = () => {
      keys.off("changed", onKeys);
      keys.off("revoked", onRevoked);
      settings.off("changed", onSetting);
    };
  }

  /** Connects the server that runs; returns the function that disconnects it. */
  attach(controller: ServerController): Unsubscribe {
    this.detachController?.();
    this.controller = controller;
    const stopWatching = controller.onChange?.(() => this.emitStatus());
    const detach = (): void => {
      if (this.controller !== controller) return;
      stopWatching?.();
      this.controller = undefined;
      this.detachController = undefined;
      this.emitStatus();
    };
    this.detachController = detach;
    this.emitStatus();
    return detach;
  }

  async status(): Promise<ServerStatus> {
    return this.currentStatus();
  }

  async start(request: { host?: string; port?: number }): Promise<ServerStatus> {
    const { host, port } = parseRequest(startServerRequest, request ?? {});
    const controller = this.controller;
    if (!controller?.start) throw new UnsupportedError("This server is run by `marduk-local serve`; start and stop it there");
    const current = controller.address();
    const target = { host: host ?? (current.host || DEFAULT_HOST), port: port ?? (current.port || DEFAULT_PORT) };
    if (!isLoopbackHost(target.host) && !this.keysRequired(controller)) {
      throw new InvalidArgumentError(
        `Listening on ${target.host} lets other machines use the API: create an API key first, or listen on 127.0.0.1`,
        "host",
      );
    }
    await controller.start(target);
    return this.emitStatus();
  }

  async stop(): Promise<ServerStatus> {
    const controller = this.controller;
    if (!controller?.stop) throw new UnsupportedError("This server is run by `marduk-local serve`; start and stop it there");
    await controller.stop();
    return this.emitStatus();
  }

  async listKeys(): Promise<ApiKeyInfo[]> {
    return this.keys.list();
  }

  async createKey(request: { name: string; scope?: ApiKeyScope; localOnly?: boolean }): Promise<{ key: string; info: ApiKeyInfo }> {
    const { name, scope, localOnly } = parseRequest(createKeyRequest, request);
    return this.keys.create(name, scope ?? "inference", { localOnly: localOnly ?? false });
  }

  async revokeKey(request: { id: string }): Promise<void> {
    const { id } = parseRequest(revokeKeyRequest, request);
    if (!this.keys.list().some((key) => key.id === id)) throw new InvalidArgumentError(`No API key '${id}'`, "id");
    const address = this.controller?.address();
    if (address?.running && !isLoopbackHost(address.host) && !this.controller!.hasConfiguredKeys && this.keys.size === 1) {
      throw new InvalidArgumentError(
        `This is the last API key and the API listens on ${address.host}: without it anyone on the network could use it. Stop the server or listen on 127.0.0.1 first`,
        "id",
      );
    }
    this.keys.revoke(id);
  }

  async setCorsOrigins(request: { origins: string[] }): Promise<ServerStatus> {
    const { origins } = parseRequest(corsOriginsRequest, request);
    const parsed = [...new Set(origins.map((origin, index) => parseOrigin(origin.trim(), `origins[${index}]`)))];
    this.settings.write(CORS_ORIGINS_SETTING, parsed);
    return this.currentStatus();
  }

  onStatus = (listener: (status: ServerStatus) => void): Unsubscribe => {
    this.events.on("status", listener);
    return () => this.events.off("status", listener);
  };

  dispose(): void {
    this.removeStoreListeners();
    this.keyWatchers.clear();
    this.detachController?.();
    this.events.removeAllListeners();
  }

  private watchKey(id: string, onRevoked: () => void): Unsubscribe {
    let watching = true;
    const watcher = (): void => {
      if (!watching) return;
      watching = false;
      onRevoked();
    };
    const stop = (): void => {
      watching = false;
      const watchers = this.keyWatchers.get(id);
      watchers?.delete(watcher);
      if (watchers?.size === 0) this.keyWatchers.delete(id);
    };
    if (!this.keys.has(id)) {
      // Revoked while its request was on its way.
      queueMicrotask(watcher);
      return stop;
    }
    const watchers = this.keyWatchers.get(id) ?? new Set();
    watchers.add(watcher);
    this.keyWatchers.set(id, watchers);
    return stop;
  }

  private keysRequired(controller: ServerController | undefined): boolean {
    return (controller?.hasConfiguredKeys ?? false) || this.keys.size > 0;
  }

  private currentStatus(): ServerStatus {
    const controller = this.controller;
    const address = controller?.address() ?? { running: false, host: "", port: 0, url: null };
    return {
      mode: controller?.mode ?? "headless",
      ...address,
      requiresApiKey: this.keysRequired(controller),
      corsOrigins: [...new Set([...(controller?.configuredCorsOrigins ?? []), ...this.storedOrigins])],
    };
  }

  private emitStatus(): ServerStatus {
    const status = this.currentStatus();
    this.events.emit("status", status);
    return status;
  }

  private readStoredOrigins(): readonly string[] {
    const value = this.settings.read(CORS_ORIGINS_SETTING);
    return Array.isArray(value) ? value.filter((origin): origin is string => typeof origin === "string") : [];
  }
}
