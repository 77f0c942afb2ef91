/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Base URL of a running server, e.g. http://127.0.0.1:11435. */
  url: string;
  model: string;
  /** Concurrent streaming clients. Default: 8. */
  streams?: number;
  /** How long to run, in ms. */
  durationMs: number;
  /** Tokens per reply. Default: 32. */
  maxTokens?: number;
  /** How often to read the server's memory, in ms. Default: 1000. */
  sampleEveryMs?: number;
}

/** What a soak saw. */
export interface SoakReport {
  requests: number;
  errors: number;
  /** The first few error messages. */
  errorSamples: string[];
  p50Ms: number;
  p99Ms: number;
  /** Resident memory of the server process over time: [ms since start, bytes]. */
  rss: Array<[number, number]>;
  /** Least-squares slope of the RSS over the second half of the run, in MB per minute. */
  rssSlopeMbPerMinute: number;
}

const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const numerator = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const denominator = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return denominator === 0 ? 0 : numerator / denominator;
}

async function serverRss(url: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^marduk_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * Keeps `streams` clients streaming chat completions for `durationMs` (each starts its next
 * request when the last one ends), counting errors and latencies, and samples the server's RSS.
 * Bounded: it stops by itself when the time is up.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const { url, model, durationMs } = options;
  const startedAt = performance.now();
  const deadline = startedAt + durationMs;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  const rss: Array<[number, number]> = [];
  const client = async (index: number): Promise<void> => {
    while (performance.now() < deadline) {
      const requestStarted = performance.now();
      try {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: `Soak ${index}` }], max_tokens: options.maxTokens ?? 32, stream: true, temperature: 0.8 }),
          signal: AbortSignal.timeout(60_000),
        });
        const text = await response.text();
        if (!response.ok || !text.includes("[DONE]") || text.includes('"error"')) throw new Error(`HTTP ${response.status}: ${text.slice(0, 200)}`);
        latencies.push(performance.now() - requestStarted);
      } catch (error) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push((error as Error).message);
      }
    }
  };
  const sampler = (async () => {
    while (performance.now() < deadline) {
      const bytes = await serverRss(url).catch(() => undefined);
      if (bytes !== undefined) rss.push([performance.now() - startedAt, bytes]);
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.sampleEveryMs ?? 1000, Math.max(0, deadline - performance.now()))));
    }
  })();
  await Promise.all([...Array.from({ length: options.streams ?? 8 }, (_, index) => client(index)), sampler]);
  const sorted = [...latencies].sort((a, b) => a - b);
  const secondHalf = rss.filter(([time]) => time >= durationMs / 2);
  return {
    requests: latencies.length + errors,
    errors,
    errorSamples,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    rss,
    rssSlopeMbPerMinute: (slope(secondHalf) * 60_000) / 1e6,
  };
}
