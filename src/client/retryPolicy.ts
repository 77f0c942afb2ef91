import { RequestAbortedError, toClientError, type MardukClientError } from "./errors.js";

/** How the SDK retries. One policy for every call: the openai package's own retries are off (maxRetries 0). */
export interface RetryOptions {
  /** Retries after the first attempt. Default: 2. */
  maxRetries?: number;
  /** First backoff when the server gives no Retry-After, doubled each retry. Default: 500 ms. */
  baseDelayMs?: number;
  /** Longest wait between attempts, Retry-After included. Default: 30000 ms. */
  maxDelayMs?: number;
}

/** Only overload answers are retried: 429 (queue full) and 503 (unavailable), plus a refused connection. */
function isRetryable(error: MardukClientError): boolean {
  return error.status === 429 || error.status === 503 || error.code === "connection_error";
}

/** Waits `ms`, or rejects with a RequestAbortedError when the signal fires. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RequestAbortedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RequestAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error or runs out of retries.
 * The wait honours the server's Retry-After (capped), else backs off exponentially with jitter.
 * The openai package retries by itself too, but its policy ignores our codes and cannot be told
 * that a stream has started; keeping it off and retrying here makes one policy for every call
 * (chat, embeddings, our own routes). A stream is retried only until its response arrives: the
 * attempt resolves at the response's headers, and iterating it happens outside this function.
 */
export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions, signal: AbortSignal | undefined): Promise<T> {
  const { maxRetries = 2, baseDelayMs = 500, maxDelayMs = 30_000 } = options;
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (thrown) {
      const error = toClientError(thrown);
      if (retry >= maxRetries || !isRetryable(error) || signal?.aborted) throw error;
      const backoff = baseDelayMs * 2 ** retry * (0.5 + Math.random() / 2);
      const delay = Math.min(maxDelayMs, error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : backoff);
      await abortableSleep(delay, signal);
    }
  }
}
