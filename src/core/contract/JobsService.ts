import type { Unsubscribe } from "../../shared/contract/common.js";
import type { JobsApi, JobSummary } from "../../shared/contract/jobs.js";
import type { BatchRunner } from "../batches/BatchRunner.js";
import { InvalidArgumentError } from "../errors.js";
import type { BatchObject } from "../storage/BatchStore.js";

/** Most jobs `list` answers. */
export const JOBS_LISTED = 50;

/** The UI's view of a batch. */
export function toJobSummary(batch: BatchObject): JobSummary {
  return {
    id: batch.id,
    status: batch.status,
    endpoint: batch.endpoint,
    createdAt: batch.created_at * 1000,
    total: batch.request_counts.total,
    completed: batch.request_counts.completed,
    failed: batch.request_counts.failed,
    ...(batch.errors?.data[0] ? { error: batch.errors.data[0].message } : {}),
  };
}

/** The jobs group over the batch runner: the list, cancel, and every change as it happens. */
export class JobsService implements JobsApi {
  constructor(private readonly runner: BatchRunner) {}

  async list(): Promise<JobSummary[]> {
    return this.runner.list(JOBS_LISTED).map(toJobSummary);
  }

  async cancel(request: { id: string }): Promise<JobSummary> {
    if (typeof request?.id !== "string") throw new InvalidArgumentError("'id' must be a job id", "id");
    const batch = this.runner.cancel(request.id);
    if (!batch) throw new InvalidArgumentError(`No job with id '${request.id}'`, "id");
    return toJobSummary(batch);
  }

  readonly onChanged = (listener: (job: JobSummary) => void): Unsubscribe => this.runner.onChange((batch) => listener(toJobSummary(batch)));
}
