import net from "node:net";

/** True for addresses that only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (net.isIPv4(bare)) return bare.startsWith("127.");
  if (net.isIPv6(bare)) return bare === "::1" || bare.startsWith("::ffff:127.");
  return false;
}

/** A Host header split into its parts. */
export interface ParsedHost {
  /** Lower case, without the brackets of an IPv6 literal: `::1`, `localhost`, `10.0.0.2`. */
  name: string;
  /** The port, when the header names one. */
  port?: number;
}

/** One DNS label: letters, digits, `-` and `_` (container names), not starting or ending with `-`. */
const LABEL = "[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?";
const PLAIN_HOST = new RegExp(`^(${LABEL}(?:\\.${LABEL})*)(?::(\\d{1,5}))?$`);
const BRACKETED_HOST = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/;

/**
 * Parses a Host header that is exactly `host[:port]`: a name or IPv4 address, or an IPv6
 * literal in brackets, and an optional decimal port. Anything else — user info
 * (`localhost:80@evil.com`), paths, spaces, empty ports, several colons — gives undefined.
 */
export function parseHostHeader(hostHeader: string | undefined): ParsedHost | undefined {
  if (hostHeader === undefined) return undefined;
  const value = hostHeader.toLowerCase();
  const bracketed = BRACKETED_HOST.exec(value);
  const match = bracketed ?? PLAIN_HOST.exec(value);
  if (!match) return undefined;
  const name = match[1]!;
  if (bracketed && !net.isIPv6(name)) return undefined;
  if (match[2] === undefined) return { name };
  const port = Number(match[2]);
  return port >= 1 && port <= 65_535 ? { name, port } : undefined;
}

/**
 * Whether a Host header may reach the server. DNS rebinding needs a domain name the attacker
 * controls, so IP literals are always safe, as are `localhost` and the names the user
 * configured; every other name, and every header that is not a plain `host[:port]`, is refused.
 */
export function isAllowedHost(hostHeader: string | undefined, allowedNames: ReadonlySet<string>): boolean {
  const parsed = parseHostHeader(hostHeader);
  if (!parsed) return false;
  if (net.isIP(parsed.name) !== 0) return true;
  return parsed.name === "localhost" || allowedNames.has(parsed.name);
}

/**
 * True when a browser's Origin header is the origin of this server as the request reached it:
 * same scheme (`http`/`https` of the connection), same host and same port (a missing port is the
 * scheme's default). `origin` must be a serialised origin (no path, no user info).
 */
export function isSameOrigin(origin: string, serverScheme: string, hostHeader: string | undefined): boolean {
  const host = parseHostHeader(hostHeader);
  if (!host || !URL.canParse(origin)) return false;
  const given = new URL(origin);
  if (given.origin !== origin.toLowerCase()) return false;
  const name = net.isIPv6(host.name) ? `[${host.name}]` : host.name;
  const server = new URL(`${serverScheme}://${name}${host.port !== undefined ? `:${host.port}` : ""}`);
  return given.origin === server.origin;
}
