import { describe, expect, it } from "vitest";
import type { JobSummary } from "../../src/shared/contract/index.js";
import { createJobsStore, isJobActive, jobProgress } from "../../src/renderer/src/features/jobs/jobsStore.js";
import { createFakeMardukApi } from "./rendererFakeApi.js";

const job = (extra: Partial<JobSummary> = {}): JobSummary => ({
  id: "batch_1",
  status: "in_progress",
  endpoint: "/v1/chat/completions",
  createdAt: 1,
  total: 10,
  completed: 2,
  failed: 1,
  ...extra,
});

describe("jobs store", () => {
  it("lists the jobs and follows their progress events, adding new ones first", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.jobs = [job()];
    const store = createJobsStore(api);
    await store.getState().init();
    expect(store.getState().jobs).toEqual([job()]);
    expect(jobProgress(store.getState().jobs[0]!)).toBeCloseTo(0.3);

    fake.jobsChanged.emit(job({ completed: 9 }));
    expect(store.getState().jobs[0]!.completed).toBe(9);
    fake.jobsChanged.emit(job({ id: "batch_2", status: "validating", total: 0, completed: 0, failed: 0 }));
    expect(store.getState().jobs.map((listed) => listed.id)).toEqual(["batch_2", "batch_1"]);
    expect(jobProgress(store.getState().jobs[0]!)).toBeUndefined();
    store.getState().dispose();
  });

  it("cancels a job and shows its new status", async () => {
    const { api, fake } = createFakeMardukApi();
    fake.jobs = [job()];
    const store = createJobsStore(api);
    await store.getState().init();
    await store.getState().cancel("batch_1");
    expect(fake.callsOf("jobs.cancel")).toEqual([{ id: "batch_1" }]);
    expect(store.getState().jobs[0]!.status).toBe("cancelling");
    expect(isJobActive(store.getState().jobs[0]!)).toBe(true);
    expect(isJobActive(job({ status: "cancelled" }))).toBe(false);
  });
});
