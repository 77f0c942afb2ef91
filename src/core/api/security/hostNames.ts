import net from "node:net";

/** True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (net.isIPv4(bare)) return bare.startsWith("127.");
  if (net.isIPv6(bare)) return bare === "::1" || bare.startsWith("::ffff:127.");
  return false;
}

/** The host name of a Host header value: `[::1]:8080` → `::1`, `Example.com:80` → `example.com`. */
export function hostNameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(1, value.indexOf("]") > 0 ? value.indexOf("]") : undefined);
  const colon = value.lastIndexOf(":");
  return colon >= 0 && value.indexOf(":") === colon ? value.slice(0, colon) : value;
}

/**
 * Whether a Host header may reach the server. DNS rebinding needs a domain name the attacker
 * controls, so IP literals are always safe, as are `localhost` and the names the user
 * configured; every other name is refused.
 */
export function isAllowedHost(hostHeader: string | undefined, allowedNames: ReadonlySet<string>): boolean {
  if (!hostHeader) return false;
  const name = hostNameOf(hostHeader);
  if (name === "") return false;
  if (net.isIP(name) !== 0) return true;
  return name === "localhost" || allowedNames.has(name);
}
