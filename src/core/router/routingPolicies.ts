import { createHash } from "node:crypto";

/** How an alias orders its targets. */
export const ROUTING_POLICIES = ["local-first", "remote-first", "cheapest", "fastest", "weighted"] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];

/** What a policy knows of one target. */
export interface TargetView {
  kind: "local" | "remote";
  /** Input plus output price per million tokens. */
  price: number;
  /** Requests running on it now. */
  outstanding: number;
  /** Observed time to first token (ms), when measured. */
  firstTokenMs?: number;
  /** Observed decode rate (tokens/s), when measured. */
  decodeTokensPerSecond?: number;
  /** Share of traffic for "weighted" (any non-negative numbers; they are normalised). */
  weight: number;
  /** When it was last picked (a tie-break that spreads equal targets). */
  lastPickedOrder: number;
}

/** Least outstanding first; then least recently picked, so equal targets take turns. */
function byLoad(a: TargetView, b: TargetView): number {
  return a.outstanding - b.outstanding || a.lastPickedOrder - b.lastPickedOrder;
}

/** A number in [0, 1) from a sticky key: one conversation always lands in the same place. */
export function stickyFraction(key: string): number {
  return createHash("sha256").update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * The order to try targets in: the first is the pick, the rest are fallbacks. Pure, so each
 * policy is tested without servers. `fraction` (in [0, 1)) picks a weighted target: a sticky
 * key's hash, else a random number.
 */
export function orderTargets<T extends TargetView>(targets: readonly T[], policy: RoutingPolicy, fraction: number): T[] {
  const local = targets.filter((target) => target.kind === "local").sort(byLoad);
  const remote = targets.filter((target) => target.kind === "remote").sort(byLoad);
  switch (policy) {
    case "local-first":
      return [...local, ...remote];
    case "remote-first":
      return [...remote, ...local];
    case "cheapest":
      return [...targets].sort((a, b) => a.price - b.price || (a.kind === b.kind ? byLoad(a, b) : a.kind === "local" ? -1 : 1));
    case "fastest": {
      // Unmeasured targets go first once, so every target gets measured.
      const speed = (target: TargetView) => (target.firstTokenMs === undefined ? -1 : target.firstTokenMs);
      return [...targets].sort((a, b) => speed(a) - speed(b) || (b.decodeTokensPerSecond ?? 0) - (a.decodeTokensPerSecond ?? 0) || byLoad(a, b));
    }
    case "weighted": {
      const total = targets.reduce((sum, target) => sum + Math.max(0, target.weight), 0);
      if (total <= 0) return [...local, ...remote];
      let point = Math.min(Math.max(fraction, 0), 0.999999) * total;
      let chosen = targets[targets.length - 1]!;
      for (const target of targets) {
        point -= Math.max(0, target.weight);
        if (point < 0) {
          chosen = target;
          break;
        }
      }
      return [chosen, ...[...local, ...remote].filter((target) => target !== chosen)];
    }
  }
}
