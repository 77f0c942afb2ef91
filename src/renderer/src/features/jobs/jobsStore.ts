import { createStore, type StoreApi } from "zustand/vanilla";
import type { JobSummary, MardukApi } from "../../../../shared/contract/index.js";
import { errorMessage } from "../../lib/errorMessage.js";
import { liveData } from "../../lib/liveData.js";

export interface JobsState {
  /** Newest first. */
  jobs: JobSummary[];
  error: string | null;

  init(): Promise<void>;
  dispose(): void;
  refresh(): Promise<void>;
  cancel(id: string): Promise<void>;
  clearError(): void;
}

export type JobsStore = StoreApi<JobsState>;

/** True while a job may still change (it can be cancelled while validating or in progress). */
export function isJobActive(job: JobSummary): boolean {
  return job.status === "validating" || job.status === "in_progress" || job.status === "finalizing" || job.status === "cancelling";
}

/** 0–1 of the lines done (answered or refused), undefined while the total is not known. */
export function jobProgress(job: JobSummary): number | undefined {
  return job.total > 0 ? (job.completed + job.failed) / job.total : undefined;
}

/** The jobs feature: background batches with their progress, kept current by change events. */
export function createJobsStore(api: MardukApi): JobsStore {
  return createStore<JobsState>()((set) => ({
    jobs: [],
    error: null,

    ...liveData(set, {
      subscribe: () =>
        api.jobs.onChanged((job) =>
          set((state) => {
            const known = state.jobs.some((candidate) => candidate.id === job.id);
            return { jobs: known ? state.jobs.map((candidate) => (candidate.id === job.id ? job : candidate)) : [job, ...state.jobs] };
          }),
        ),
      load: async () => set({ jobs: await api.jobs.list() }),
    }),

    async cancel(id) {
      try {
        const job = await api.jobs.cancel({ id });
        set((state) => ({ jobs: state.jobs.map((candidate) => (candidate.id === id ? job : candidate)) }));
      } catch (error) {
        set({ error: errorMessage(error) });
      }
    },

    clearError() {
      set({ error: null });
    },
  }));
}
