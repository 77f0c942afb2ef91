import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { WorkerRequest } from "../../src/core/engine-build/engineBuildWorker.js";
import type { EngineWorkerHandlers, SpawnEngineWorker, WorkerOutcome } from "../../src/core/engine-build/engineWorkerProcess.js";

/** An engine build worker the test drives: it hands out its handlers and ends when told, compiling nothing. */
export class FakeEngineWorker {
  request: WorkerRequest | undefined;
  handlers: EngineWorkerHandlers = {};
  cancelled = false;
  private finish!: (outcome: WorkerOutcome) => void;
  readonly spawn: SpawnEngineWorker = (request, handlers) => {
    this.request = request;
    this.handlers = handlers;
    return {
      outcome: new Promise<WorkerOutcome>((resolve) => (this.finish = resolve)),
      cancel: () => {
        this.cancelled = true;
        this.finish({ type: "result", ok: false, error: "the build was cancelled", cancelled: true, lastLines: [] });
      },
    };
  };
  /** Leaves a finished build folder in `localBuildsDir` as node-llama-cpp would, and reports success. */
  succeed(localBuildsDir: string, folderName = "linux-x64-new"): void {
    mkdirSync(path.join(localBuildsDir, folderName, "Release"), { recursive: true });
    writeFileSync(path.join(localBuildsDir, folderName, "Release", "llama-addon.node"), "binary");
    writeFileSync(path.join(localBuildsDir, folderName, "buildDone.status"), "");
    this.finish({ type: "result", ok: true, folderName, buildType: "localBuild", systemInfo: "CPU : AVX2 = 1 | OPENMP = 1 |", llamaCppRelease: "v0.4.0" });
  }
  fail(error: string, lastLines: string[] = []): void {
    this.finish({ type: "result", ok: false, error, lastLines });
  }
}
