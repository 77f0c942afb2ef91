import type { EventSource } from "./common.js";

export interface ServerStatus {
  /** "desktop": the Electron app runs the API and can start/stop it; "headless": `serve` (the UI comes from it). */
  mode: "desktop" | "headless";
  running: boolean;
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:11435 */
  url: string | null;
  /** True when requests need an API key. */
  requiresApiKey: boolean;
  corsOrigins: string[];
}

/**
 * What an API key may do:
 * - `inference`: the HTTP API (`/v1`, `/api`, `/metrics`, the full `/health`), nothing else;
 * - `admin`: that, plus the app's contract over the `/rpc` WebSocket (the browser UI), which
 *   manages keys, CORS origins, providers, downloads and deletes models.
 */
export type ApiKeyScope = "inference" | "admin";

/** Every scope, least powerful first. */
export const API_KEY_SCOPES = ["inference", "admin"] as const satisfies readonly ApiKeyScope[];

export interface ApiKeyInfo {
  id: string;
  name: string;
  createdAt: number;
  /** The first characters, to recognise the key (e.g. "mk-3f9a…"). */
  prefix: string;
  scope: ApiKeyScope;
  /** Requests with this key never leave this machine (never routed to a remote provider). */
  localOnly: boolean;
}

/** The server group: the local API's settings. */
export interface ServerApi {
  status(): Promise<ServerStatus>;
  /** Desktop mode only (headless servers answer 'unsupported'). */
  start(request: { host?: string; port?: number }): Promise<ServerStatus>;
  /** Desktop mode only. */
  stop(): Promise<ServerStatus>;
  listKeys(): Promise<ApiKeyInfo[]>;
  /**
   * Creates a key; the full key is in this answer only and is never shown again.
   * `scope` defaults to `inference` (the HTTP API only); `localOnly` (default false) keeps every
   * request made with the key on this machine.
   */
  createKey(request: { name: string; scope?: ApiKeyScope; localOnly?: boolean }): Promise<{ key: string; info: ApiKeyInfo }>;
  /** Deletes a key: requests with it get 401 from now on, and the app sessions opened with it are closed at once. */
  revokeKey(request: { id: string }): Promise<void>;
  setCorsOrigins(request: { origins: string[] }): Promise<ServerStatus>;
  onStatus: EventSource<ServerStatus>;
}
