/**
 * The Jobs card in the browser UI (Debian's Chromium through playwright-core) against a real
 * `marduk-local serve`: a batch sent with the official openai client shows up on the Server
 * screen with its progress, and Cancel stops it. A screenshot goes to test-results/.
 */
import { existsSync } from "node:fs";
import OpenAI, { toFile } from "openai";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { CHROMIUM_PATH, FIXTURE_MODEL_ID, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`[marduk-local tests] ${CHROMIUM_PATH} is missing (apt-get install chromium): the browser tests are skipped.`);

const poll = { timeout: 30_000, interval: 100 };

describe.skipIf(!hasChromium)("the Jobs card in the browser UI", () => {
  const ui = useUiEnvironment({ setupTimeoutMs: 240_000 });

  it("shows a running batch with its progress, and cancels it", async () => {
    const client = new OpenAI({ baseURL: `${ui.env.serve.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const lines = Array.from({ length: 300 }, (_, index) =>
      JSON.stringify({ custom_id: `ui-${index}`, method: "POST", url: "/v1/chat/completions", body: { model: FIXTURE_MODEL_ID, messages: [{ role: "user", content: `Hi ${index}` }] } }),
    );
    const file = await client.files.create({ file: await toFile(Buffer.from(lines.join("\n")), "ui.jsonl"), purpose: "batch" });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });

    await ui.page.getByTestId("nav-server").click();
    const job: Locator = ui.page.locator(`[data-testid="job"][data-job-id="${batch.id}"]`);
    await expect.poll(() => job.getAttribute("data-status"), poll).toBe("in_progress");
    // Progress events move the bar and the counts while the batch runs.
    await expect.poll(async () => Number(/^\S+ · (\d+)\/300/.exec(await job.getByTestId("job-counts").innerText())?.[1] ?? 0), poll).toBeGreaterThan(0);
    expect(await job.getByTestId("job-progress").getAttribute("role")).toBe("progressbar");
    await ui.env.screenshot("jobs-card");

    await job.getByTestId("job-cancel").click();
    await expect.poll(() => job.getAttribute("data-status"), poll).toBe("cancelled");
    expect(await job.getByTestId("job-cancel").count()).toBe(0);
    expect((await client.batches.retrieve(batch.id)).status).toBe("cancelled");
    expect(ui.env.pageErrors).toEqual([]);
  });
});
