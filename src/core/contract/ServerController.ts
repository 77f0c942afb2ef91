import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { ServerStatus } from "../../shared/contract/server.js";

/** Where the local API listens. */
export type ServerAddress = Pick<ServerStatus, "running" | "host" | "port" | "url">;

/**
 * The HTTP server behind the contract's server group: the headless `serve` (it only reports
 * where it listens) or the desktop app's local API (which can also be started and stopped).
 */
export interface ServerController {
  readonly mode: ServerStatus["mode"];
  /** Where it listens now (or would listen when started). */
  address(): ServerAddress;
  /** True when fixed keys were given at start (`serve --api-key`): requests always need a key. */
  readonly hasConfiguredKeys: boolean;
  /** Origins given at start (`serve --cors-origin`); the app can add more, not remove these. */
  readonly configuredCorsOrigins: readonly string[];
  /** Starts (or restarts at a new address). Absent: the server cannot be started from the app. */
  start?(request: { host: string; port: number }): Promise<void>;
  /** Stops. Absent: the server cannot be stopped from the app. */
  stop?(): Promise<void>;
  /** Reports changes of the address or the running state. */
  onChange?(listener: () => void): Unsubscribe;
}

/** `http://host:port` for an address; IPv6 literals in brackets. */
export function formatServerUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** The host clients on this machine use for a listening address (any-address binds are reached on loopback). */
function reachableHost(address: string): string {
  if (address === "0.0.0.0") return "127.0.0.1";
  if (address === "::") return "::1";
  return address;
}

/** The address a Fastify server listens on, or a stopped address. */
export function fastifyAddress(app: FastifyInstance | undefined, fallback: { host: string; port: number }): ServerAddress {
  const bound = app?.server.listening ? app.server.address() : null;
  if (bound && typeof bound === "object") {
    const { address, port } = bound as AddressInfo;
    return { running: true, host: address, port, url: formatServerUrl(reachableHost(address), port) };
  }
  return { running: false, host: fallback.host, port: fallback.port, url: null };
}

/** The controller of `marduk-local serve`'s server: it reports where it listens; start and stop are the CLI's. */
export function headlessServerController(
  app: FastifyInstance,
  settings: { hasConfiguredKeys: boolean; configuredCorsOrigins: readonly string[] },
): ServerController {
  return {
    mode: "headless",
    address: () => fastifyAddress(app, { host: "", port: 0 }),
    hasConfiguredKeys: settings.hasConfiguredKeys,
    configuredCorsOrigins: settings.configuredCorsOrigins,
  };
}
