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

type ContractMembers = {
  readonly [G in ContractGroup]: {
    readonly calls: readonly CallName<MardukApi[G]>[];
    readonly events: readonly EventName<MardukApi[G]>[];
  };
};

/**
 * Every call and event of the contract, by group: the RPC's allowlist. The compiler checks
 * it against {@link MardukApi} both ways (see the assertions below), so a method added to the
 * contract must be listed here, and nothing else can be.
 */
export const CONTRACT_MEMBERS = {
  models: {
    calls: ["list", "loaded", "load", "unload", "remove", "importFile", "searchHub", "hubFiles", "starters", "catalog"],
    events: ["onLibraryChanged", "onLoadedChanged"],
  },
  downloads: { calls: ["start", "cancel", "list"], events: ["onProgress"] },
  chat: { calls: ["send", "regenerate", "editAndResend", "stop", "contextUsage"], events: ["onEvent"] },
  conversations: { calls: ["list", "get", "create", "update", "remove", "export"], events: ["onChanged"] },
  metrics: { calls: ["history"], events: ["onSample"] },
  server: { calls: ["status", "start", "stop", "listKeys", "createKey", "revokeKey", "setCorsOrigins"], events: ["onStatus"] },
  providers: { calls: ["list", "save", "remove", "test", "usage"], events: ["onChanged"] },
  settings: { calls: ["get", "update"], events: ["onChanged"] },
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

/** A contract member resolved from a wire name such as `chat.send`. */
export interface ContractMemberRef {
  group: ContractGroup;
  name: string;
}

function index(kind: "calls" | "events"): ReadonlyMap<string, ContractMemberRef> {
  const entries = new Map<string, ContractMemberRef>();
  for (const group of Object.keys(CONTRACT_MEMBERS) as ContractGroup[]) {
    for (const name of CONTRACT_MEMBERS[group][kind]) entries.set(`${group}.${name}`, { group, name });
  }
  return entries;
}

const CALLS = index("calls");
const EVENTS = index("events");

/**
 * The call a wire name (`group.method`) designates, or undefined when the contract has no such
 * call. A Map lookup: prototype members (`constructor`, `__proto__`, `toString`) never match.
 */
export function findContractCall(method: unknown): ContractMemberRef | undefined {
  return typeof method === "string" ? CALLS.get(method) : undefined;
}

/** The event a wire name (`group.onX`) designates, or undefined. */
export function findContractEvent(event: unknown): ContractMemberRef | undefined {
  return typeof event === "string" ? EVENTS.get(event) : undefined;
}
