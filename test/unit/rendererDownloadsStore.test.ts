import { describe, expect, it } from "vitest";
import { createDownloadsStore, isDownloadActive, isDownloadResumable, isDownloadRetryable } from "../../src/renderer/src/features/downloads/downloadsStore.js";
import { createFakeMardukApi, createManualScheduler, download } from "./rendererFakeApi.js";

function setup() {
  const { api, fake } = createFakeMardukApi();
  const frames = createManualScheduler();
  const store = createDownloadsStore(api, { scheduler: frames.scheduler });
  let updates = 0;
  store.subscribe(() => updates++);
  return { fake, frames, store, state: () => store.getState(), updates: () => updates };
}

describe("downloads store", () => {
  it("lists downloads newest first and applies progress once per frame, latest value winning", async () => {
    const t = setup();
    t.fake.downloads = [download("old", { startedAt: 1 }), download("new", { startedAt: 5 })];
    await t.state().init();
    expect(t.state().downloads.map((d) => d.id)).toEqual(["new", "old"]);
    const before = t.updates();
    for (let bytes = 100; bytes <= 1000; bytes += 100) t.fake.downloadProgress.emit(download("old", { startedAt: 1, receivedBytes: bytes, bytesPerSecond: 5000, etaSeconds: 1 }));
    expect(t.updates()).toBe(before);
    t.frames.frame();
    expect(t.updates()).toBe(before + 1);
    expect(t.state().downloads.find((d) => d.id === "old")?.receivedBytes).toBe(1000);
  });

  it("starts a download by ref and shows it at once", async () => {
    const t = setup();
    await t.state().init();
    const progress = await t.state().start(" hf:org/repo:Q4_K_M ");
    expect(progress?.ref).toBe("hf:org/repo:Q4_K_M");
    expect(t.state().downloads.map((d) => d.ref)).toEqual(["hf:org/repo:Q4_K_M"]);
    expect(t.state().starting).toEqual([]);
    expect(await t.state().start("  ")).toBeNull();
  });

  it("reports a refused start", async () => {
    const t = setup();
    t.fake.failNext("downloads.start", new Error("Repository not found"));
    expect(await t.state().start("hf:nope/nope:Q4_K_M")).toBeNull();
    expect(t.state().error).toBe("Repository not found");
  });

  it("cancels, resumes (one row per file) and dismisses", async () => {
    const t = setup();
    t.fake.downloads = [download("d1", { ref: "hf:o/r/f.gguf", state: "cancelled", receivedBytes: 400 })];
    await t.state().init();
    await t.state().cancel("d1");
    expect(t.fake.callsOf("downloads.cancel")).toEqual([{ id: "d1" }]);
    await t.state().resume("d1");
    expect(t.fake.callsOf("downloads.start")).toEqual([{ ref: "hf:o/r/f.gguf" }]);
    expect(t.state().downloads.map((d) => d.ref)).toEqual(["hf:o/r/f.gguf"]);
    expect(t.state().downloads[0]?.id).not.toBe("d1");

    const id = t.state().downloads[0]!.id;
    t.state().dismiss(id);
    expect(t.state().downloads).toEqual([]);
    // A late event of a dismissed, finished download does not bring it back...
    t.fake.downloadProgress.emit(download(id, { state: "completed" }));
    t.frames.frame();
    expect(t.state().downloads).toEqual([]);
    // ...but one that runs again does.
    t.fake.downloadProgress.emit(download(id, { state: "downloading" }));
    t.frames.frame();
    expect(t.state().downloads.map((d) => d.id)).toEqual([id]);
  });

  it("classifies states", () => {
    expect(isDownloadActive(download("a", { state: "verifying" }))).toBe(true);
    expect(isDownloadActive(download("a", { state: "completed" }))).toBe(false);
    expect(isDownloadResumable(download("a", { state: "failed", receivedBytes: 10 }))).toBe(true);
    expect(isDownloadResumable(download("a", { state: "downloading" }))).toBe(false);
  });

  it("offers Retry, not Resume, for a download that failed before its first byte (a 404)", () => {
    const notFound = download("a", { state: "failed", receivedBytes: 0, error: "hf:Qwen/x was not found on the hub (HTTP 404)" });
    expect(isDownloadResumable(notFound)).toBe(false);
    expect(isDownloadRetryable(notFound)).toBe(true);
    const interrupted = download("b", { state: "failed", receivedBytes: 500 });
    expect(isDownloadResumable(interrupted)).toBe(true);
    expect(isDownloadRetryable(interrupted)).toBe(false);
    expect(isDownloadRetryable(download("c", { state: "completed" }))).toBe(false);
  });
});
