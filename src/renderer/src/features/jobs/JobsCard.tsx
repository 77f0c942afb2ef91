import { Badge, type BadgeTone } from "../../components/Badge.js";
import { Card } from "../../components/Card.js";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { ProgressBar } from "../../components/ProgressBar.js";
import { useAppStores, useJobs } from "../../app/StoresContext.js";
import type { JobSummary } from "../../../../shared/contract/index.js";
import { isJobActive, jobProgress } from "./jobsStore.js";

const TONES: Record<JobSummary["status"], BadgeTone> = {
  validating: "info",
  in_progress: "accent",
  finalizing: "info",
  completed: "success",
  failed: "danger",
  expired: "warning",
  cancelling: "warning",
  cancelled: "neutral",
};

/** Jobs: the Batch API's batches running in the background (below chat requests), with progress and cancel. */
export function JobsCard() {
  const { jobs: store } = useAppStores();
  const jobs = useJobs((state) => state.jobs);
  const error = useJobs((state) => state.error);
  return (
    <Card title="Jobs" testId="jobs-card">
      <ErrorNotice message={error} onDismiss={() => store.getState().clearError()} testId="jobs-error" />
      {jobs.length === 0 ? (
        <p className="muted small" data-testid="jobs-empty">
          No batches yet. Clients send them with OpenAI&apos;s Batch API (<code>POST /v1/files</code>, then <code>POST /v1/batches</code>); they run
          one line at a time and never hold up chat requests.
        </p>
      ) : (
        <ul className="download-list" data-testid="jobs-list">
          {jobs.map((job) => (
            <li key={job.id} className="download" data-testid="job" data-job-id={job.id} data-status={job.status}>
              <div className="row">
                <code className="small">{job.id}</code>
                <Badge tone={TONES[job.status]} testId="job-status">
                  {job.status.replace("_", " ")}
                </Badge>
                {(job.status === "validating" || job.status === "in_progress") && (
                  <button type="button" className="button button-danger" onClick={() => void store.getState().cancel(job.id)} data-testid="job-cancel">
                    Cancel
                  </button>
                )}
              </div>
              {isJobActive(job) && <ProgressBar value={jobProgress(job)} label={`Progress of ${job.id}`} testId="job-progress" />}
              <p className="muted small" data-testid="job-counts">
                {job.endpoint} · {job.completed + job.failed}/{job.total} lines{job.failed > 0 ? ` · ${job.failed} failed` : ""}
                {job.error ? ` · ${job.error}` : ""}
              </p>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
