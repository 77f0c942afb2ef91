import { createHash, timingSafeEqual } from "node:crypto";

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** A short, stable fingerprint of a key for logs and the audit log (never the key itself). */
export function apiKeyId(key: string): string {
  return digest(key).toString("hex").slice(0, 12);
}

/**
 * Checks API keys in constant time: the candidate's SHA-256 is compared with every key's
 * (equal lengths, timingSafeEqual, no early exit), so timing reveals neither the key nor
 * which key nearly matched.
 */
export class ApiKeyVerifier {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((key) => key.length > 0).map(digest);
  }

  /** True when keys are configured, i.e. requests must authenticate. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The key id of a matching key, else undefined. */
  verify(candidate: string | undefined): string | undefined {
    if (candidate === undefined || candidate.length === 0) return undefined;
    const candidateDigest = digest(candidate);
    let matched = false;
    for (const keyDigest of this.digests) matched = timingSafeEqual(candidateDigest, keyDigest) || matched;
    return matched ? candidateDigest.toString("hex").slice(0, 12) : undefined;
  }
}

/** The key of a request: `Authorization: Bearer <key>` (OpenAI clients) or `x-api-key`. */
export function apiKeyFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === "string") {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1]!.trim();
  }
  const apiKey = headers["x-api-key"];
  return typeof apiKey === "string" ? apiKey.trim() : undefined;
}
