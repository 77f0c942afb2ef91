import type { EventSource } from "./common.js";

export interface GpuSample {
  name: string;
  /** nvidia-smi's utilization, when available. */
  utilizationPercent?: number;
  vramUsedBytes: number;
  vramTotalBytes: number;
}

/** One sample of the machine and the engine, taken every second. */
export interface MetricsSample {
  /** ms since the epoch. */
  time: number;
  cpuPercent: number;
  ramUsedBytes: number;
  ramTotalBytes: number;
  /** Resident memory of the app's process. */
  processRssBytes: number;
  /** null when the machine has no usable GPU. */
  gpu: GpuSample | null;
  /** Generated tokens per second over the last second, all requests together. */
  decodeTokensPerSecond: number;
  /** Prompt tokens evaluated per second over the last second. */
  promptTokensPerSecond: number;
  /** Mean time to first token of generations that finished in the last second (null: none). */
  timeToFirstTokenMs: number | null;
  activeRequests: number;
  queuedRequests: number;
  /** Memory per loaded model. */
  models: Array<{ id: string; memoryBytes: number }>;
}

/** The metrics group: live dashboards. */
export interface MetricsApi {
  /** Up to the last 5 minutes of samples, oldest first. */
  history(): Promise<MetricsSample[]>;
  onSample: EventSource<MetricsSample>;
}
