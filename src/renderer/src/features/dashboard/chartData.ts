import type { MetricsSample } from "../../../../shared/contract/index.js";

/** One chart row: the sample's time plus the plotted values. */
export type ChartRow = { time: number } & Record<string, number | null>;

const GB = 1e9;
const MB = 1e6;

/**
 * Samples further apart than this mark a gap (the server was down, the sampler paused, the
 * connection dropped): the sampler takes one a second, so three missed in a row is a gap.
 */
export const SAMPLE_GAP_MS = 3_000;

/**
 * The rows every chart reads, computed once per sample. Where samples are missing a row with
 * only a time (every series null) goes in, so the lines break there instead of drawing a
 * straight line across the time nothing was measured (the charts do not connect nulls).
 */
export function toChartRows(samples: MetricsSample[]): ChartRow[] {
  const rows: ChartRow[] = [];
  let previous: MetricsSample | undefined;
  for (const sample of samples) {
    if (previous && sample.time - previous.time > SAMPLE_GAP_MS) rows.push({ time: previous.time + 1 } as ChartRow);
    rows.push(toChartRow(sample));
    previous = sample;
  }
  return rows;
}

/** The memory of each loaded model in the newest sample (weights plus context state), the library's figure. */
export function modelMemory(sample: MetricsSample | undefined): Array<{ id: string; memoryBytes: number }> {
  return sample ? [...sample.models].sort((a, b) => a.id.localeCompare(b.id)) : [];
}

function toChartRow(sample: MetricsSample): ChartRow {
  const row: ChartRow = {
    time: sample.time,
    cpu: round(sample.cpuPercent, 1),
    ramUsed: round(sample.ramUsedBytes / GB, 2),
    ramTotal: round(sample.ramTotalBytes / GB, 2),
    processRss: round(sample.processRssBytes / GB, 2),
    decode: round(sample.decodeTokensPerSecond, 1),
    prompt: round(sample.promptTokensPerSecond, 1),
    ttft: sample.timeToFirstTokenMs === null ? null : Math.round(sample.timeToFirstTokenMs),
    active: sample.activeRequests,
    queued: sample.queuedRequests,
    gpuUtil: sample.gpu?.utilizationPercent ?? null,
    vramUsed: sample.gpu ? round(sample.gpu.vramUsedBytes / GB, 2) : null,
    vramTotal: sample.gpu ? round(sample.gpu.vramTotalBytes / GB, 2) : null,
  };
  for (const model of sample.models) row[`model:${model.id}`] = round(model.memoryBytes / MB, 1);
  return row;
}

/** Every model id that appears in the window (a line each). */
export function modelIds(samples: MetricsSample[]): string[] {
  return [...new Set(samples.flatMap((sample) => sample.models.map((model) => model.id)))].sort();
}

/** The highest value of a field over the window. */
export function peak(samples: MetricsSample[], read: (sample: MetricsSample) => number | null): number {
  let best = 0;
  for (const sample of samples) best = Math.max(best, read(sample) ?? 0);
  return best;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
