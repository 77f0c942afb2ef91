import os from "node:os";
import type { GenerationResult } from "../../shared/api/generation.js";
import type { Unsubscribe } from "../../shared/contract/common.js";
import type { MetricsSample } from "../../shared/contract/metrics.js";
import type { Logger } from "../logger.js";
import { freeRamBytes, totalRamBytes } from "../models/library/memoryProbe.js";
import type { GpuProbe } from "./gpuProbe.js";

/** Busy and total CPU time of the machine so far, in ms (all cores together). */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** What the engine is doing right now. */
export interface EngineLoad {
  activeRequests: number;
  queuedRequests: number;
  models: Array<{ id: string; memoryBytes: number }>;
}

/** Where a sample's numbers come from; each is injectable for tests. */
export interface SamplerSources {
  /** The engine's requests and models. */
  engine: () => EngineLoad;
  /** Default: `os.cpus()` summed over cores. */
  cpuTimes?: () => CpuTimes;
  /** Default: total RAM minus available RAM (cgroup-aware). */
  memory?: () => { usedBytes: number; totalBytes: number };
  /** Default: `process.memoryUsage.rss()`. */
  processRss?: () => number;
  /** Default: no GPU. */
  gpu?: GpuProbe;
}

/** Options of {@link SystemSampler}. */
export interface SystemSamplerOptions {
  sources: SamplerSources;
  /** Time between samples. Default: 1000 ms. */
  intervalMs?: number;
  /** Samples kept. Default: 300 (5 minutes at 1 Hz). */
  capacity?: number;
  /** How long sampling goes on after the last `history()` when nobody subscribes. Default: 60000 ms. */
  lingerMs?: number;
  /** Default: Date.now. */
  now?: () => number;
  logger?: Logger;
}

export const DEFAULT_SAMPLE_INTERVAL_MS = 1000;
export const DEFAULT_SAMPLE_CAPACITY = 300;

/** Sums os.cpus() times. */
export function systemCpuTimes(): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, irq, idle } = cpu.times;
    busy += user + nice + sys + irq;
    total += user + nice + sys + irq + idle;
  }
  return { busy, total };
}

/** A count at a time. */
interface Mark {
  time: number;
  value: number;
}

/** Fixed-size buffer of the newest items, oldest first. */
class RingBuffer<T> {
  private readonly items: T[] = [];
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }
  toArray(): T[] {
    return [...this.items];
  }
}

/**
 * The live dashboards' samples: every second, CPU % (from `os.cpus()` deltas), RAM, the
 * process's RSS, the GPU (when there is one), token rates and time to first token (from the
 * generations it is told about), requests and memory per loaded model. Keeps the last 300.
 *
 * It costs nothing while nobody looks: sampling runs only while a listener is subscribed, or
 * for `lingerMs` after `history()` was asked, and stops by itself after that.
 */
export class SystemSampler {
  private readonly intervalMs: number;
  private readonly lingerMs: number;
  private readonly now: () => number;
  private readonly samples: RingBuffer<MetricsSample>;
  private readonly listeners = new Set<(sample: MetricsSample) => void>();
  private readonly decoded: Mark[] = [];
  private readonly prompted: Mark[] = [];
  private readonly firstTokens: Mark[] = [];
  private timer: NodeJS.Timeout | undefined;
  private previousCpu: CpuTimes | undefined;
  private sampling = false;
  private lastHistoryAt = Number.NEGATIVE_INFINITY;
  private disposed = false;

  constructor(private readonly options: SystemSamplerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.lingerMs = options.lingerMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.samples = new RingBuffer(options.capacity ?? DEFAULT_SAMPLE_CAPACITY);
  }

  /** True while samples are being taken. */
  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Generated tokens, reported as they stream. */
  recordTokens(count: number, time = this.now()): void {
    this.mark(this.decoded, time, count);
  }

  /** A finished generation: its prompt tokens count as evaluated now, with its time to first token. */
  recordGeneration(result: GenerationResult, time = this.now()): void {
    this.mark(this.prompted, time, result.usage.promptTokens);
    if (result.usage.completionTokens > 0) this.mark(this.firstTokens, time, result.timings.firstTokenMs);
  }

  /** The samples of the last `capacity` intervals, oldest first; keeps sampling for a while. */
  history(): MetricsSample[] {
    this.lastHistoryAt = this.now();
    this.start();
    const oldest = this.now() - this.intervalMs * (this.options.capacity ?? DEFAULT_SAMPLE_CAPACITY);
    return this.samples.toArray().filter((sample) => sample.time >= oldest);
  }

  /** Receives each new sample; sampling runs while anyone listens. */
  onSample(listener: (sample: MetricsSample) => void): Unsubscribe {
    this.listeners.add(listener);
    this.start();
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Takes one sample now (the timer calls this every interval). */
  async sample(): Promise<MetricsSample> {
    const time = this.now();
    const sources = this.options.sources;
    const cpu = (sources.cpuTimes ?? systemCpuTimes)();
    const previous = this.previousCpu;
    this.previousCpu = cpu;
    const totalDelta = previous ? cpu.total - previous.total : 0;
    const cpuPercent = totalDelta > 0 ? Math.min(100, Math.max(0, ((cpu.busy - previous!.busy) / totalDelta) * 100)) : 0;
    const memory = sources.memory?.() ?? { usedBytes: Math.max(0, totalRamBytes() - freeRamBytes()), totalBytes: totalRamBytes() };
    const gpu = sources.gpu ? await sources.gpu() : null;
    const engine = sources.engine();
    const windowStart = time - this.intervalMs;
    const seconds = this.intervalMs / 1000;
    const inWindow = (marks: Mark[]): Mark[] => marks.filter((mark) => mark.time > windowStart && mark.time <= time);
    const firstTokens = inWindow(this.firstTokens);
    this.prune(time);
    return {
      time,
      cpuPercent,
      ramUsedBytes: memory.usedBytes,
      ramTotalBytes: memory.totalBytes,
      processRssBytes: (sources.processRss ?? (() => process.memoryUsage.rss()))(),
      gpu,
      decodeTokensPerSecond: sum(inWindow(this.decoded)) / seconds,
      promptTokensPerSecond: sum(inWindow(this.prompted)) / seconds,
      timeToFirstTokenMs: firstTokens.length > 0 ? sum(firstTokens) / firstTokens.length : null,
      activeRequests: engine.activeRequests,
      queuedRequests: engine.queuedRequests,
      models: engine.models,
    };
  }

  /** Stops sampling and forgets the listeners. */
  dispose(): void {
    this.disposed = true;
    this.stop();
    this.listeners.clear();
  }

  private start(): void {
    if (this.timer || this.disposed) return;
    this.previousCpu = (this.options.sources.cpuTimes ?? systemCpuTimes)();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.listeners.size === 0 && this.now() - this.lastHistoryAt > this.lingerMs) {
      this.stop();
      return;
    }
    if (this.sampling) return;
    this.sampling = true;
    try {
      const sample = await this.sample();
      if (this.disposed) return;
      this.samples.push(sample);
      for (const listener of [...this.listeners]) {
        try {
          listener(sample);
        } catch (error) {
          this.options.logger?.warn({ err: error }, "metrics listener failed");
        }
      }
    } catch (error) {
      this.options.logger?.warn({ err: error }, "metrics sample failed");
    } finally {
      this.sampling = false;
    }
  }

  private mark(marks: Mark[], time: number, value: number): void {
    if (this.disposed || !(value >= 0)) return;
    const last = marks.at(-1);
    // Token counts within 10 ms add up in one mark (a fast model streams thousands a second),
    // which moves to the newest time: kept at the oldest, a count could fall before the window
    // of the sample that follows it.
    if (marks !== this.firstTokens && last && time >= last.time && time - last.time < 10) {
      last.value += value;
      last.time = time;
    } else marks.push({ time, value });
    // Unread marks would pile up while nobody samples: keep a few intervals' worth.
    if (marks.length > 4096 || (!this.timer && marks.length > 256)) this.prune(time);
  }

  private prune(now: number): void {
    const keepAfter = now - 2 * this.intervalMs;
    for (const marks of [this.decoded, this.prompted, this.firstTokens]) {
      const firstKept = marks.findIndex((mark) => mark.time > keepAfter);
      marks.splice(0, firstKept === -1 ? marks.length : firstKept);
    }
  }
}

function sum(marks: readonly Mark[]): number {
  let total = 0;
  for (const mark of marks) total += mark.value;
  return total;
}
