import { stripVTControlCharacters } from "node:util";
import type { EngineBuildPhase, EngineBuildProgress, EngineGpu } from "../../shared/contract/engine.js";

/** What one line of build output tells. */
export interface BuildLineUpdate {
  phase: "cloning" | "configuring" | "compiling";
  /** Ninja's `[n/m]`. */
  step?: number;
  steps?: number;
  /** Make's `[ 45%]` (when cmake picked Unix Makefiles). */
  percent?: number;
  /** The line, shortened for a progress line. */
  message: string;
}

const NINJA_STEP = /^\[(\d+)\/(\d+)\]\s*(.*)$/;
const MAKE_PERCENT = /^\[\s*(\d{1,3})%\]\s*(.*)$/;
const CLONING = /\bclon(e|ing)\b|\bcloned\b/i;
/** cmake's configure output ("-- The C compiler identification ...", "-- Configuring done") and cmake-js's. */
const CONFIGURING = /^--\s|\bconfiguring\b|\bgenerating\b|^Compiling llama\.cpp/i;

/** "Building CXX object llama.cpp/ggml/src/CMakeFiles/ggml-cpu.dir/ggml-cpu/ops.cpp.o" → "Building CXX object ops.cpp". */
function shortenStep(text: string): string {
  return text.replace(/(?:\S*\/)?([^/\s]+?)(?:\.o|\.obj)?$/, "$1").trim();
}

/**
 * Reads one line of the build's output (node-llama-cpp's logs, cmake's configure output, then
 * ninja's `[n/m] Building ...` steps) for the progress it tells; `undefined` for other lines.
 */
export function parseBuildLine(rawLine: string): BuildLineUpdate | undefined {
  // node-llama-cpp's spinners redraw with terminal escapes even into a pipe.
  const line = stripVTControlCharacters(rawLine).trim();
  if (line === "") return undefined;
  const ninja = NINJA_STEP.exec(line);
  if (ninja) {
    const step = Number(ninja[1]);
    const steps = Number(ninja[2]);
    if (steps > 0 && step <= steps) return { phase: "compiling", step, steps, message: shortenStep(ninja[3] ?? "") };
  }
  const make = MAKE_PERCENT.exec(line);
  if (make && Number(make[1]) <= 100) return { phase: "compiling", percent: Number(make[1]), message: shortenStep(make[2] ?? "") };
  if (CLONING.test(line)) return { phase: "cloning", message: line };
  if (CONFIGURING.test(line)) return { phase: "configuring", message: line.replace(/^--\s*/, "") };
  return undefined;
}

/** How much of the whole build each phase stands for, in percent: compiling is nearly all of it. */
const PHASE_START: Record<EngineBuildPhase, number> = {
  starting: 0,
  cloning: 1,
  configuring: 3,
  compiling: 6,
  verifying: 98,
  done: 100,
  failed: 0,
  cancelled: 0,
};
const COMPILING_SHARE = PHASE_START.verifying - PHASE_START.compiling;
const PHASE_ORDER: EngineBuildPhase[] = ["starting", "cloning", "configuring", "compiling", "verifying", "done"];

/** A build's progress, updated from its output lines; phases and percent only move forward. */
export class BuildProgressTracker {
  private state: EngineBuildProgress;

  constructor(id: string, gpu: EngineGpu, now = Date.now()) {
    this.state = { id, phase: "starting", percent: 0, message: "Starting the build", gpu, startedAt: now };
  }

  get progress(): EngineBuildProgress {
    return { ...this.state };
  }

  /** Applies a line of output; true when the progress changed. */
  line(rawLine: string): boolean {
    const update = parseBuildLine(rawLine);
    if (!update || this.ended) return false;
    // A late "Cloned" log after compiling began does not move the phase back.
    if (PHASE_ORDER.indexOf(update.phase) < PHASE_ORDER.indexOf(this.state.phase)) return false;
    let percent = PHASE_START[update.phase];
    if (update.step !== undefined && update.steps !== undefined) percent += (COMPILING_SHARE * update.step) / update.steps;
    else if (update.percent !== undefined) percent += (COMPILING_SHARE * update.percent) / 100;
    this.state = {
      ...this.state,
      phase: update.phase,
      ...(update.step !== undefined ? { step: update.step, steps: update.steps } : {}),
      percent: Math.max(this.state.percent, Math.min(PHASE_START.verifying, Math.round(percent * 10) / 10)),
      message: update.message.slice(0, 300),
    };
    return true;
  }

  verifying(): void {
    if (this.ended) return;
    this.state = { ...this.state, phase: "verifying", percent: Math.max(this.state.percent, PHASE_START.verifying), message: "Loading the new build to verify it" };
  }

  /** The build ended: done, failed (with why) or cancelled. */
  end(phase: "done" | "failed" | "cancelled", message: string, now = Date.now(), error?: string): void {
    if (this.ended) return;
    this.state = {
      ...this.state,
      phase,
      percent: phase === "done" ? 100 : this.state.percent,
      message,
      endedAt: now,
      ...(error !== undefined ? { error } : {}),
    };
  }

  get ended(): boolean {
    return this.state.endedAt !== undefined;
  }
}
