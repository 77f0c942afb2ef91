import type { EventSource } from "../contract/common.js";
import type { ContractGroup, MardukApi } from "../contract/index.js";

/** Names of a group's calls: members that take one request object and return a Promise. */
export type CallName<Group> = {
  [K in keyof Group]: Group[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof Group] &
  string;

/** Names of a group's events: `onX` members that are {@link EventSource}s. */
export type EventName<Group> = {
  [K in keyof Group]: Group[K] extends EventSource<infer _Payload> ? K : never;
}[keyof Group] &
  string;

/**
 * The calls and events of each group of an API: what an RPC server lets a client reach, and
 * what a client offers. Any API of `{ group: { call(request): Promise<R>, onX: EventSource<P> } }`
 * groups can be described (the UI contract, the model host's channel).
 */
export type RpcMembers<Api> = {
  readonly [G in keyof Api & string]: {
    readonly calls: readonly CallName<Api[G]>[];
    readonly events: readonly EventName<Api[G]>[];
  };
};

type ContractMembers = RpcMembers<MardukApi>;

/**
 * Every call and event of the contract, by group: the UI RPC's allowlist. The compiler checks
 * it against {@link MardukApi} both ways (see the assertions below), so a method added to the
 * contract must be listed here, and nothing else can be.
 */
export const CONTRACT_MEMBERS = {
  models: {
    calls: ["list", "loaded", "load", "estimateLoad", "unload", "remove", "importFile", "searchHub", "hubFiles", "modelCard", "starters", "starterFiles", "hubToken", "setHubToken", "clearHubToken", "catalog"],
    events: ["onLibraryChanged", "onLoadedChanged"],
  },
  downloads: { calls: ["start", "cancel", "list"], events: ["onProgress"] },
  chat: { calls: ["send", "regenerate", "retry", "editAndResend", "stop", "contextUsage"], events: ["onEvent"] },
  conversations: { calls: ["list", "get", "create", "update", "remove", "export", "selectVersion", "deleteMessage"], events: ["onChanged"] },
  metrics: { calls: ["history"], events: ["onSample"] },
  server: { calls: ["status", "start", "stop", "listKeys", "createKey", "revokeKey", "setCorsOrigins"], events: ["onStatus"] },
  providers: { calls: ["list", "save", "remove", "test", "usage"], events: ["onChanged"] },
  settings: { calls: ["get", "update", "modelDefaults", "setModelDefaults", "resolveChat", "listPresets", "savePreset", "deletePreset"], events: ["onChanged"] },
  engine: { calls: ["status", "startBuild", "cancelBuild"], events: ["onProgress"] },
  jobs: { calls: ["list", "cancel"], events: ["onChanged"] },
} as const satisfies ContractMembers;

// Compile-time completeness: every member of every group is listed, and every member is
// either a call or an event (a member of another kind could not be carried by the RPC).
type Unlisted<G extends ContractGroup> =
  | Exclude<CallName<MardukApi[G]>, (typeof CONTRACT_MEMBERS)[G]["calls"][number]>
  | Exclude<EventName<MardukApi[G]>, (typeof CONTRACT_MEMBERS)[G]["events"][number]>
  | Exclude<keyof MardukApi[G], CallName<MardukApi[G]> | EventName<MardukApi[G]>>;
type AssertNever<T extends never> = T;
type _EveryContractMemberIsListed = AssertNever<{ [G in ContractGroup]: Unlisted<G> }[ContractGroup]>;
type _EveryGroupIsListed = AssertNever<Exclude<ContractGroup, keyof typeof CONTRACT_MEMBERS>>;

/** A member resolved from a wire name such as `chat.send`. */
export interface RpcMemberRef<Group extends string = string> {
  group: Group;
  name: string;
}

/** A contract member resolved from a wire name such as `chat.send`. */
export type ContractMemberRef = RpcMemberRef<ContractGroup>;

/** Finds the members of an API by their wire names (`group.name`). */
export interface RpcMemberIndex<Group extends string = string> {
  /**
   * The call a wire name (`group.method`) designates, or undefined when the API has no such
   * call. A Map lookup: prototype members (`constructor`, `__proto__`, `toString`) never match.
   */
  findCall(method: unknown): RpcMemberRef<Group> | undefined;
  /** The event a wire name (`group.onX`) designates, or undefined. */
  findEvent(event: unknown): RpcMemberRef<Group> | undefined;
}

/** Indexes an API's members by wire name. */
export function indexRpcMembers<Api>(members: RpcMembers<Api>): RpcMemberIndex<keyof Api & string> {
  type Group = keyof Api & string;
  const index = (kind: "calls" | "events"): ReadonlyMap<string, RpcMemberRef<Group>> => {
    const entries = new Map<string, RpcMemberRef<Group>>();
    for (const group of Object.keys(members) as Group[]) {
      for (const name of members[group][kind] as readonly string[]) entries.set(`${group}.${name}`, { group, name });
    }
    return entries;
  };
  const calls = index("calls");
  const events = index("events");
  return {
    findCall: (method) => (typeof method === "string" ? calls.get(method) : undefined),
    findEvent: (event) => (typeof event === "string" ? events.get(event) : undefined),
  };
}

const CONTRACT_INDEX = indexRpcMembers(CONTRACT_MEMBERS);

/** The contract call a wire name (`group.method`) designates, or undefined (see {@link RpcMemberIndex.findCall}). */
export function findContractCall(method: unknown): ContractMemberRef | undefined {
  return CONTRACT_INDEX.findCall(method);
}

/** The contract event a wire name (`group.onX`) designates, or undefined. */
export function findContractEvent(event: unknown): ContractMemberRef | undefined {
  return CONTRACT_INDEX.findEvent(event);
}
