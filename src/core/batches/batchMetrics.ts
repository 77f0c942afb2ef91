import { Counter, Gauge, type Registry } from "prom-client";
import type { BatchStore } from "../storage/BatchStore.js";
import type { BatchRunner } from "./BatchRunner.js";

/**
 * The Batch API's metrics on the core's registry: `marduk_batches{status}` (stored batches, read
 * at scrape time) and `marduk_batch_lines_total{outcome}` (lines recorded by this process).
 * @returns the function that stops counting.
 */
export function registerBatchMetrics(registry: Registry, store: BatchStore, runner: BatchRunner): () => void {
  new Gauge({
    name: "marduk_batches",
    help: "Stored batches of the Batch API by status",
    labelNames: ["status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [status, count] of Object.entries(store.countByStatus())) this.set({ status }, count);
    },
  });
  const lines = new Counter({ name: "marduk_batch_lines_total", help: "Batch lines run by outcome (completed: 2xx answer, failed: error answer)", labelNames: ["outcome"], registers: [registry] });
  lines.inc({ outcome: "completed" }, 0);
  lines.inc({ outcome: "failed" }, 0);
  return runner.onLineRecorded((failed) => lines.inc({ outcome: failed ? "failed" : "completed" }));
}
