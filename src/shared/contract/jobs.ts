import type { EventSource } from "./common.js";

/** A batch job's status, as OpenAI's Batch API names it. */
export type JobStatus = "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";

/** One background job (a batch of the Batch API) as the Jobs list shows it. */
export interface JobSummary {
  id: string;
  status: JobStatus;
  /** The endpoint its lines call, e.g. "/v1/chat/completions". */
  endpoint: string;
  /** ms since the epoch. */
  createdAt: number;
  /** Lines in all, and those answered (completed) or refused (failed) so far. */
  total: number;
  completed: number;
  failed: number;
  /** Why it failed, when it did. */
  error?: string;
}

/** The jobs group: batches running in the background, below interactive requests. */
export interface JobsApi {
  /** The most recent jobs, newest first (at most 50). */
  list(): Promise<JobSummary[]>;
  /** Asks a job to stop (it ends "cancelled" with the results so far); answers its new state. */
  cancel(request: { id: string }): Promise<JobSummary>;
  /** A job changed (status or progress). */
  onChanged: EventSource<JobSummary>;
}
