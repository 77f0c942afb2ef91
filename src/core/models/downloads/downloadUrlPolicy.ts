import { isLoopbackHost } from "../../api/security/hostNames.js";
import { DownloadError } from "./downloadErrors.js";

/** Which URLs a download may fetch from, checked on the first URL and on every redirect target. */
export interface DownloadUrlPolicy {
  /**
   * Origins (`http://mirror.lan:8080`) where plain http is allowed although they are not loopback:
   * the hub endpoint the operator configured (HF_ENDPOINT). Default: none, so plain http is
   * allowed only for loopback hosts (127.0.0.0/8, [::1], localhost).
   */
  trustedOrigins?: readonly string[];
}

/** Where a checked URL came from, for the error message. */
export interface UrlCheckContext {
  /** The URL the download started from (never a redirect target: those come from a foreign answer). */
  startUrl: URL;
  /** True when the URL is a redirect target rather than the URL the download started from. */
  redirected: boolean;
}

/** The policy of a download manager whose hub lives at `hubEndpoint`. */
export function downloadUrlPolicyFor(hubEndpoint: string): DownloadUrlPolicy {
  return { trustedOrigins: [new URL(hubEndpoint).origin] };
}

/** True when plain http to this URL's host is allowed: loopback, or an origin the policy trusts. */
export function allowsPlainHttp(url: URL, policy: DownloadUrlPolicy): boolean {
  return isLoopbackHost(url.hostname) || (policy.trustedOrigins ?? []).includes(url.origin);
}

/**
 * Refuses a URL the policy does not allow: anything but http(s), URLs with credentials, and plain
 * http to a host that is neither loopback nor trusted. A redirect target is never quoted in the
 * message (it is part of a foreign server's answer); only the URL the download started from is.
 * @throws DownloadError with reason "url_refused" (code download_failed), not retryable
 */
export function checkDownloadUrl(url: URL, policy: DownloadUrlPolicy, context: UrlCheckContext): void {
  const what = context.redirected ? `The download from ${context.startUrl.href} was redirected to` : `${context.startUrl.href} is`;
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new DownloadError("url_refused", `${what} a URL that is neither https nor http; refused`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new DownloadError("url_refused", `${what} a URL with credentials in it; refused`);
  }
  if (url.protocol === "http:" && !allowsPlainHttp(url, policy)) {
    throw new DownloadError(
      "url_refused",
      `${what} a plain http URL on a host that is not this machine; refused (plain http is allowed only for loopback addresses, use https)`,
    );
  }
}
