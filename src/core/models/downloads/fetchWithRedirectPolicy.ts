import { DownloadError } from "./downloadErrors.js";
import { checkDownloadUrl, type DownloadUrlPolicy } from "./downloadUrlPolicy.js";

/** Options of {@link fetchWithRedirectPolicy}. */
export interface RedirectPolicyOptions {
  /** Does each single request (called with `redirect: "manual"`). */
  fetch: typeof fetch;
  /** What every URL of the chain must satisfy, the first one included. */
  policy: DownloadUrlPolicy;
  /** Redirects followed before giving up. Default: 10. */
  maxRedirects?: number;
}

/** The answer at the end of a redirect chain, and where it came from. */
export interface PolicyFetchResult {
  response: Response;
  /** The URL that gave `response` (the last redirect target, or the URL asked for). */
  url: URL;
}

export const DEFAULT_MAX_REDIRECTS = 10;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that carry credentials: they stay on the origin the request started on. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * `fetch` that follows redirects itself, so that every hop is checked: each target must pass the
 * download URL policy (no plain http off this machine, no other schemes) and the chain is at most
 * `maxRedirects` long. Credential headers (the hub token) are sent only while the chain stays on
 * the origin it started on; once it leaves, they are dropped for every later hop.
 * @throws DownloadError "url_refused" or "too_many_redirects" (not retryable); fetch's own errors as they are
 */
export async function fetchWithRedirectPolicy(input: string | URL, init: RequestInit, options: RedirectPolicyOptions): Promise<PolicyFetchResult> {
  const startUrl = new URL(input);
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const headers = new Headers(init.headers);
  let method = init.method ?? "GET";
  let url = startUrl;
  for (let redirects = 0; ; redirects++) {
    checkDownloadUrl(url, options.policy, { startUrl, redirected: redirects > 0 });
    if (url.origin !== startUrl.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    const response = await options.fetch(url, { ...init, method, headers, redirect: "manual" });
    const location = response.headers.get("location");
    if (!REDIRECT_STATUSES.has(response.status) || location === null) return { response, url };
    await response.body?.cancel().catch(() => undefined);
    if (redirects >= maxRedirects) {
      throw new DownloadError("too_many_redirects", `The download from ${startUrl.href} was redirected more than ${maxRedirects} times; refused`);
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new DownloadError("url_refused", `The download from ${startUrl.href} was redirected to something that is not a URL; refused`);
    }
    // 303 means "GET the answer there" (HEAD stays HEAD); the others keep the method.
    if (response.status === 303 && method !== "HEAD") method = "GET";
    url = next;
  }
}
