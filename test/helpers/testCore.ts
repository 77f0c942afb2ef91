import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createCore, type Core, type CoreOptions } from "../../src/core/createCore.js";
import { createSilentLogger } from "../../src/core/logger.js";

export interface TestCore {
  core: Core;
  /** A fresh temporary models dir. */
  modelsDir: string;
  /** The temporary folder holding the models dir and the database. */
  tempDir: string;
  /** Disposes the core and deletes its temporary folder. */
  dispose(): Promise<void>;
}

/** A core over a fresh temporary models dir, CPU backend, 1 thread, silent logs. */
export function createTestCore(options: CoreOptions = {}): TestCore {
  const tempDir = mkdtempSync(path.join(os.tmpdir(), "marduk-test-"));
  const modelsDir = path.join(tempDir, "models");
  const core = createCore({ modelsDir, dataDir: tempDir, backend: "cpu", threads: 1, logger: createSilentLogger(), ...options });
  return {
    core,
    modelsDir: core.modelsDir,
    tempDir,
    async dispose() {
      await core.dispose();
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
