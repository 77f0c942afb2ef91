import { createStore, type StoreApi } from "zustand/vanilla";
import type { ApiKeyInfo, ApiKeyScope, MardukApi, ServerStatus, Unsubscribe } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { fieldOfError } from "../../lib/fieldErrors.js";

/** The Server screen's form fields that can show an error of their own. */
export type ServerFormField = "corsOrigins" | "keyName";

/** Which field a core error's `param` names, per request. */
const CORS_FIELDS = { origins: "corsOrigins" } as const satisfies Record<string, ServerFormField>;
const KEY_FIELDS = { name: "keyName", scope: "keyName", localOnly: "keyName" } as const satisfies Record<string, ServerFormField>;

export interface ServerState {
  status: ServerStatus | null;
  keys: ApiKeyInfo[];
  /** A key just created: the only time its secret is available. Cleared by `dismissCreatedKey`. */
  createdKey: { key: string; info: ApiKeyInfo } | null;
  busy: boolean;
  /** An error that names no field, shown at the screen's top. */
  error: string | null;
  /** Errors shown under the field that caused them. */
  fieldErrors: Partial<Record<ServerFormField, string>>;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  /** Desktop mode only. */
  start(request?: { host?: string; port?: number }): Promise<void>;
  /** Desktop mode only. */
  stop(): Promise<void>;
  /** Creates a key of `scope` (default `inference`: the HTTP API only). */
  createKey(name: string, scope?: ApiKeyScope, options?: { localOnly?: boolean }): Promise<void>;
  revokeKey(id: string): Promise<void>;
  dismissCreatedKey(): void;
  setCorsOrigins(origins: string[]): Promise<boolean>;
  clearError(): void;
  /** Clears one field's error (the field was edited). */
  clearFieldError(field: ServerFormField): void;
}

export type ServerStore = StoreApi<ServerState>;

/** Splits an editor's text into origins: one per line or comma-separated, trimmed, no duplicates. */
export function parseOrigins(text: string): string[] {
  return [...new Set(text.split(/[\n,]/).map((origin) => origin.trim().replace(/\/+$/, "")).filter(Boolean))];
}

/**
 * True when creating a key of `scope` may lock this browser page out: in headless mode, once any
 * key exists the page needs an admin key to reconnect, and no admin key exists yet.
 */
export function pageMayNeedAdminKey(status: ServerStatus | null, keys: readonly ApiKeyInfo[], scope: ApiKeyScope): boolean {
  return status?.mode === "headless" && scope !== "admin" && !keys.some((key) => key.scope === "admin");
}

/** Returns the origins that are not `scheme://host[:port]`. */
export function invalidOrigins(origins: string[]): string[] {
  return origins.filter((origin) => {
    if (!URL.canParse(origin)) return true;
    const url = new URL(origin);
    return !/^https?:$/.test(url.protocol) || url.origin !== origin;
  });
}

/** The server feature: the local API's status, keys and CORS origins. */
export function createServerStore(api: MardukApi): ServerStore {
  let unsubscribe: Unsubscribe | undefined;

  return createStore<ServerState>()((set, get) => {
    /** Runs a request with `busy` set; reports its failure under the field its `param` names, else in `error`. */
    const run = async (request: () => Promise<void>, fields: Readonly<Record<string, ServerFormField>> = {}): Promise<boolean> => {
      set({ busy: true, error: null });
      try {
        await request();
        return true;
      } catch (error) {
        const field = fieldOfError(error, fields);
        if (field) set({ fieldErrors: { ...get().fieldErrors, [field]: errorMessage(error) } });
        else set({ error: errorMessage(error) });
        return false;
      } finally {
        set({ busy: false });
      }
    };

    return {
      status: null,
      keys: [],
      createdKey: null,
      busy: false,
      error: null,
      fieldErrors: {},

      async init() {
        unsubscribe ??= api.server.onStatus((status) => set({ status }));
        await get().refresh();
      },

      dispose() {
        unsubscribe?.();
        unsubscribe = undefined;
      },

      async refresh() {
        const [status, keys] = await Promise.allSettled([api.server.status(), api.server.listKeys()]);
        if (status.status === "fulfilled") set({ status: status.value });
        if (keys.status === "fulfilled") set({ keys: keys.value });
        const failed = [status, keys].find((result) => result.status === "rejected");
        if (failed) set({ error: errorMessage(failed.reason) });
      },

      async start(request = {}) {
        await run(async () => set({ status: await api.server.start(request) }));
      },

      async stop() {
        await run(async () => set({ status: await api.server.stop() }));
      },

      async createKey(name, scope = "inference", options = {}) {
        const trimmed = name.trim();
        if (!trimmed) {
          set({ fieldErrors: { ...get().fieldErrors, keyName: "Give the key a name, e.g. the app that will use it." } });
          return;
        }
        set({ fieldErrors: { ...get().fieldErrors, keyName: undefined } });
        await run(async () => {
          const created = await api.server.createKey({ name: trimmed, scope, ...(options.localOnly ? { localOnly: true } : {}) });
          set({ createdKey: created, keys: [...get().keys.filter((key) => key.id !== created.info.id), created.info] });
        }, KEY_FIELDS);
      },

      async revokeKey(id) {
        await run(async () => {
          await api.server.revokeKey({ id });
          set({ keys: get().keys.filter((key) => key.id !== id) });
          if (get().createdKey?.info.id === id) set({ createdKey: null });
        });
      },

      dismissCreatedKey() {
        set({ createdKey: null });
      },

      setCorsOrigins(origins) {
        const invalid = invalidOrigins(origins);
        if (invalid.length > 0) {
          set({ fieldErrors: { ...get().fieldErrors, corsOrigins: `Not an origin (scheme://host[:port]): ${invalid.join(", ")}` } });
          return Promise.resolve(false);
        }
        set({ fieldErrors: { ...get().fieldErrors, corsOrigins: undefined } });
        return run(async () => set({ status: await api.server.setCorsOrigins({ origins }) }), CORS_FIELDS);
      },

      clearError() {
        set({ error: null });
      },

      clearFieldError(field) {
        if (get().fieldErrors[field] !== undefined) set({ fieldErrors: { ...get().fieldErrors, [field]: undefined } });
      },
    };
  });
}
