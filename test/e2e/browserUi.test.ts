/**
 * The UI in a real browser (Debian's Chromium through playwright-core) against a real
 * `marduk-local serve` process with generated models and the fake Hugging Face hub:
 * find and download a model, load one, chat (the fixture model's sentence, streamed),
 * stop, regenerate, the dashboard's numbers, persistence across a reload, API keys.
 * Screenshots of every screen go to test-results/.
 */
import { existsSync } from "node:fs";
import { copyFile, readFile } from "node:fs/promises";
import path from "node:path";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { TINY_LLAMA_Q8_0, TINY_LLAMA_REPO } from "../fixtures/fakeHub/index.js";
import { FIXTURE_SENTENCE, getFixtureModelPath } from "../fixtures/gguf/index.js";
import { CURRENT_THEME, RECORD_STREAMED_TEXT, START_FRAME_METER, STOP_FRAME_METER, STREAMED_TEXTS } from "./pageScripts.js";
import { CHROMIUM_PATH, FIXTURE_MODEL_ID, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`[marduk-local tests] ${CHROMIUM_PATH} is missing (apt-get install chromium): the browser tests are skipped.`);

/** The model downloaded from the fake hub: random weights, so it never ends a reply by itself. */
const BENCH_MODEL_ID = `${TINY_LLAMA_REPO}/${TINY_LLAMA_Q8_0.replace(/\.gguf$/, "")}`;

const poll = { timeout: 20_000, interval: 100 };

describe.skipIf(!hasChromium)("the browser UI against marduk-local serve", () => {
  // The hub sends at 3 MB/s so a download's progress is visible for a few seconds.
  const ui = useUiEnvironment({ hubThrottleBytesPerSecond: 3_000_000 });
  let conversationUrl = "";

  const libraryRow = (id: string): Locator => ui.page.locator(`[data-testid="library-row"][data-model-id="${id}"]`);
  const assistantMessages = (): Locator => ui.page.locator('[data-testid="message"][data-role="assistant"]');

  /** Opens a new conversation with `modelId` and sends `text`. */
  async function startChat(modelId: string, text: string): Promise<void> {
    await ui.page.getByTestId("nav-chat").click();
    await ui.page.getByTestId("new-conversation").click();
    await ui.page.waitForURL(/#\/chat\/.+/);
    await ui.page.getByTestId("model-picker").selectOption(modelId);
    await ui.page.getByTestId("composer-input").fill(text);
    await ui.page.getByTestId("composer-input").press("Enter");
  }

  it("lists the library with the fixture model", async () => {
    const row = libraryRow(FIXTURE_MODEL_ID);
    await row.waitFor();
    await expect.poll(() => row.locator("td").allInnerTexts(), poll).toEqual(expect.arrayContaining(["F32", "llama", "2,048"]));
    expect(await row.getByTestId("model-state").innerText()).toBe("not loaded");
    await ui.page.getByTestId("starter-models").waitFor();
    await ui.env.screenshot("models");
  });

  it("imports a local GGUF file by its path", async () => {
    const outside = path.join(ui.env.outsideDir, "imported-fixture.gguf");
    await copyFile(await getFixtureModelPath(), outside);
    await ui.page.getByLabel("Import a local file").fill(outside);
    await ui.page.getByRole("button", { name: "Import", exact: true }).click();
    await ui.page.getByText("Imported imported-fixture.").waitFor();
    await libraryRow("imported-fixture").waitFor();
  });

  it("searches the hub and downloads a model with visible progress", async () => {
    await ui.page.getByTestId("hub-query").fill("tiny");
    await ui.page.getByRole("button", { name: "Search" }).click();
    const result = ui.page.locator(`[data-testid="hub-result"][data-repo="${TINY_LLAMA_REPO}"]`);
    await result.waitFor();
    await result.getByRole("button", { name: "Show files" }).click();
    const file = result.locator(`[data-testid="hub-file"][data-path="${TINY_LLAMA_Q8_0}"]`);
    await file.waitFor();
    expect(await file.getByTestId("fit-badge").innerText()).toMatch(/^(fits on GPU|fits in RAM|too large)$/);
    expect(await result.getByTestId("hub-file").count()).toBeGreaterThanOrEqual(3);
    await result.scrollIntoViewIfNeeded();
    await ui.env.screenshot("models-hub-search");

    await file.getByRole("button", { name: `Download ${TINY_LLAMA_Q8_0}` }).click();
    const download = ui.page.locator(`[data-testid="download-row"][data-ref="hf:${TINY_LLAMA_REPO}/${TINY_LLAMA_Q8_0}"]`);
    const bar = download.getByTestId("download-progress");
    // Progress is visible while it runs: a bar between 0 and 100%, bytes and speed.
    await expect
      .poll(async () => {
        const value = Number(await bar.getAttribute("aria-valuenow"));
        return value > 0 && value < 100;
      }, poll)
      .toBe(true);
    expect(await download.getByTestId("download-bytes").innerText()).toMatch(/ of \d/);
    await expect.poll(() => download.getByTestId("download-speed").innerText(), poll).toMatch(/^[\d.]+ (KB|MB)\/s$/);
    await download.scrollIntoViewIfNeeded();
    await ui.env.screenshot("models-downloading");

    await expect.poll(() => download.getAttribute("data-state"), { ...poll, timeout: 30_000 }).toBe("completed");
    expect(await bar.getAttribute("aria-valuenow")).toBe("100");
    await libraryRow(BENCH_MODEL_ID).waitFor();
  });

  it("loads the fixture model through the load dialog", async () => {
    await libraryRow(FIXTURE_MODEL_ID).getByRole("button", { name: `Load ${FIXTURE_MODEL_ID}` }).click();
    const dialog = ui.page.getByRole("dialog", { name: `Load ${FIXTURE_MODEL_ID}` });
    await dialog.getByLabel("Context size (tokens)").fill("2048");
    await dialog.getByLabel("Parallel sequences").fill("2");
    await ui.env.screenshot("models-load-dialog");
    await dialog.getByRole("button", { name: "Load", exact: true }).click();
    await expect.poll(() => libraryRow(FIXTURE_MODEL_ID).getByTestId("model-state").innerText(), poll).toBe("loaded");
  });

  it("chats: the fixture sentence streams in exactly, with stats and a context bar", async () => {
    // Record every text the streaming message shows, to check the reply grows token by token.
    await ui.page.evaluate(RECORD_STREAMED_TEXT);
    await startChat(FIXTURE_MODEL_ID, "Hello there!");
    const reply = assistantMessages().first();
    await expect.poll(() => reply.getByTestId("message-content").innerText(), poll).toBe(FIXTURE_SENTENCE);
    const streamed = await ui.page.evaluate<string[]>(STREAMED_TEXTS);
    for (const text of streamed) expect(FIXTURE_SENTENCE.startsWith(text.trim())).toBe(true);
    expect(await reply.getByTestId("stat-tokens").innerText()).toMatch(/^\d+ tokens$/);
    expect(await reply.getByTestId("stat-rate").innerText()).toMatch(/tok\/s$/);
    expect(await reply.getByTestId("stat-ttft").innerText()).toMatch(/^TTFT /);
    expect(await reply.getByTestId("stat-finish").innerText()).toBe("finished");
    await ui.page.getByTestId("context-usage").waitFor();
    expect(await ui.page.getByTestId("context-usage").innerText()).toMatch(/\/ 2,048 tokens/);
    expect(await ui.page.getByTestId("conversation-title").innerText()).toBe("Hello there!");
    conversationUrl = ui.page.url();
    await ui.env.screenshot("chat");
  });

  it("regenerates the reply", async () => {
    const before = await assistantMessages().first().getAttribute("data-message-id");
    await ui.page.getByRole("button", { name: "Regenerate" }).click();
    await expect.poll(() => assistantMessages().first().getAttribute("data-message-id"), poll).not.toBe(before);
    await expect.poll(() => assistantMessages().first().getByTestId("message-content").innerText(), poll).toBe(FIXTURE_SENTENCE);
    expect(await assistantMessages().count()).toBe(1);
    expect(await ui.page.getByTestId("message").count()).toBe(2);
  });

  it("edits the user's message and generates the reply again", async () => {
    const user = ui.page.locator('[data-testid="message"][data-role="user"]');
    const before = await assistantMessages().first().getAttribute("data-message-id");
    await user.getByRole("button", { name: "Edit" }).click();
    await user.getByLabel("Edit message").fill("Hello again!");
    await user.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => assistantMessages().first().getAttribute("data-message-id"), poll).not.toBe(before);
    await expect.poll(() => assistantMessages().first().getByTestId("message-content").innerText(), poll).toBe(FIXTURE_SENTENCE);
    expect(await user.getByTestId("message-content").innerText()).toBe("Hello again!");
    expect(await ui.page.getByTestId("message").count()).toBe(2);
  });

  it("keeps the conversation across a page reload", async () => {
    await ui.page.reload();
    expect(ui.page.url()).toBe(conversationUrl);
    await expect.poll(() => assistantMessages().first().getByTestId("message-content").innerText(), poll).toBe(FIXTURE_SENTENCE);
    expect(await ui.page.locator('[data-testid="message"][data-role="user"]').innerText()).toContain("Hello again!");
    expect(await ui.page.getByTestId("conversation-item").count()).toBe(1);

    // Export as Markdown: a file download with the conversation.
    const [download] = await Promise.all([ui.page.waitForEvent("download"), ui.page.getByRole("button", { name: "Export as Markdown" }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.md$/);
    expect(await readFile(await download.path(), "utf8")).toContain(FIXTURE_SENTENCE);
  });

  it("stops a long generation, keeping what was generated, without freezing the page", async () => {
    await ui.page.getByTestId("nav-models").click();
    await libraryRow(BENCH_MODEL_ID).getByRole("button", { name: `Load ${BENCH_MODEL_ID}` }).click();
    const dialog = ui.page.getByRole("dialog", { name: `Load ${BENCH_MODEL_ID}` });
    // A long context: the random-weight model never ends a reply by itself.
    await dialog.getByLabel("Context size (tokens)").fill("16384");
    await dialog.getByLabel("Parallel sequences").fill("1");
    await dialog.getByRole("button", { name: "Load", exact: true }).click();
    await expect.poll(() => libraryRow(BENCH_MODEL_ID).getByTestId("model-state").innerText(), poll).toBe("loaded");

    // Measure the longest gap between animation frames while the reply streams.
    await ui.page.evaluate(START_FRAME_METER);
    await startChat(BENCH_MODEL_ID, "Write forever.");
    const streaming = ui.page.getByTestId("streaming-content");
    await expect.poll(async () => ((await streaming.textContent()) ?? "").length, poll).toBeGreaterThan(200);
    await ui.page.waitForTimeout(500);
    await ui.env.screenshot("chat-streaming");
    await ui.page.getByTestId("stop-button").click();
    await ui.page.getByTestId("streaming-message").waitFor({ state: "detached" });
    const reply = assistantMessages().first();
    expect(await reply.getByTestId("stat-finish").innerText()).toBe("stopped");
    expect((await reply.getByTestId("message-content").innerText()).length).toBeGreaterThan(200);
    const meter = await ui.page.evaluate<{ longest: number; frames: number }>(STOP_FRAME_METER);
    console.info(`[e2e] while streaming: longest frame ${Math.round(meter.longest)} ms over ${meter.frames} frames`);
    // Headless Chromium on a busy 2-core machine is no benchmark; this catches a frozen page.
    expect(meter.longest).toBeLessThan(1000);
    await ui.page.getByTestId("send-button").waitFor();
  });

  it("shows non-zero tokens/s on the dashboard after a chat", async () => {
    await ui.page.getByTestId("nav-dashboard").click();
    const peak = ui.page.getByTestId("stat-decode-peak-value");
    await expect.poll(async () => Number.parseFloat(await peak.innerText()), poll).toBeGreaterThan(0);
    await ui.page.getByTestId("chart-cpu").waitFor();
    await ui.page.getByTestId("chart-tokens").waitFor();
    await ui.page.getByTestId("chart-models").waitFor();
    // No GPU in CI: the clear CPU-only state, else the GPU charts.
    expect((await ui.page.getByTestId("no-gpu").count()) + (await ui.page.getByTestId("chart-gpu").count())).toBe(1);
    await ui.page.waitForTimeout(1200);
    await ui.env.screenshot("dashboard");

    // The dark theme (an app setting, applied through CSS variables).
    await ui.page.getByLabel("Theme").selectOption("dark");
    await expect.poll(() => ui.page.evaluate<string>(CURRENT_THEME), poll).toBe("dark");
    await ui.env.screenshot("dashboard-dark");
    await ui.page.getByTestId("nav-chat").click();
    await ui.page.getByTestId("composer-input").waitFor();
    await ui.env.screenshot("chat-dark");
    await ui.page.getByLabel("Theme").selectOption("system");
    await expect.poll(() => ui.page.evaluate<string>(CURRENT_THEME), poll).toBe("");
  });

  it("unloads a model and deletes it after confirming", async () => {
    await ui.page.getByTestId("nav-models").click();
    const row = libraryRow(BENCH_MODEL_ID);
    await row.getByRole("button", { name: `Unload ${BENCH_MODEL_ID}` }).click();
    await expect.poll(() => row.getByTestId("model-state").innerText(), poll).toBe("not loaded");
    await row.getByRole("button", { name: `Delete ${BENCH_MODEL_ID}` }).click();
    const dialog = ui.page.getByRole("dialog", { name: "Delete model?" });
    await dialog.waitFor();
    await ui.env.screenshot("models-delete-dialog");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await row.waitFor({ state: "detached" });
    expect(await libraryRow(FIXTURE_MODEL_ID).count()).toBe(1);
  });

  it("shows the server's address, snippets, and API keys shown once", async () => {
    await ui.page.getByTestId("nav-server").click();
    await ui.page.getByTestId("server-url").waitFor();
    expect(await ui.page.getByTestId("server-url").innerText()).toBe(ui.env.serve.url);
    expect(await ui.page.getByTestId("base-url").innerText()).toBe(`${ui.env.serve.url}/v1`);
    expect(await ui.page.getByTestId("snippet-code").innerText()).toContain(`${ui.env.serve.url}/v1/chat/completions`);
    await ui.page.getByRole("tab", { name: "Python (openai)" }).click();
    expect(await ui.page.getByTestId("snippet-code").innerText()).toContain(`base_url="${ui.env.serve.url}/v1"`);
    await ui.page.getByTestId("headless-note").waitFor();

    // The first key of a headless server: this page will need an admin key to connect again.
    await ui.page.getByTestId("admin-key-hint").waitFor();
    await ui.page.getByLabel("Key name").fill("e2e script");
    await ui.page.getByRole("button", { name: "Create key" }).click();
    const created = ui.page.getByTestId("created-key-value");
    await created.waitFor();
    const key = await created.innerText();
    expect(key.length).toBeGreaterThan(16);
    await ui.env.screenshot("server");

    // The key (inference, the default scope) works against the OpenAI API, and is not shown again after dismissing it.
    const response = await fetch(`${ui.env.serve.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(response.status).toBe(200);
    await ui.page.getByRole("button", { name: "I have copied it" }).click();
    expect(await ui.page.getByTestId("created-key").count()).toBe(0);
    expect(await ui.page.getByTestId("key-row").count()).toBe(1);
    expect(await ui.page.getByTestId("key-row").innerText()).not.toContain(key);

    // An admin key, for the app in a browser.
    await ui.page.getByLabel("Key name").fill("e2e admin");
    await ui.page.getByTestId("key-scope").selectOption("admin");
    await ui.page.getByRole("button", { name: "Create key" }).click();
    await created.waitFor();
    const adminKey = await created.innerText();
    await ui.page.getByRole("button", { name: "I have copied it" }).click();
    expect(await ui.page.getByTestId("key-scope-badge").allInnerTexts()).toEqual(["inference", "admin"]);
    await ui.page.getByTestId("admin-key-hint").waitFor({ state: "detached" });

    // Now that keys exist, a fresh page must give an admin key before it can use the app.
    const fresh = await ui.env.context.newPage();
    try {
      await fresh.goto(ui.env.serve.url);
      const prompt = fresh.getByRole("dialog", { name: "API key required" });
      await prompt.waitFor();
      await ui.env.screenshot("api-key-prompt", fresh);
      await prompt.getByLabel("API key").fill(key);
      await prompt.getByRole("button", { name: "Connect" }).click();
      await prompt.getByTestId("admin-key-required").waitFor();
      await prompt.getByLabel("API key").fill(adminKey);
      await prompt.getByRole("button", { name: "Connect" }).click();
      await prompt.waitFor({ state: "detached" });
      await fresh.getByTestId("connection-status").getByText("Connected").waitFor();
      await fresh.locator(`[data-testid="library-row"][data-model-id="${FIXTURE_MODEL_ID}"]`).waitFor();

      // Revoking the admin key disconnects the page that uses it at once, and it asks for a key again.
      await ui.page.getByRole("button", { name: "Revoke e2e admin" }).click();
      await ui.page.getByRole("dialog", { name: "Revoke key?" }).getByRole("button", { name: "Revoke" }).click();
      await prompt.waitFor();
      expect(await prompt.innerText()).toContain("The server refused that key.");
    } finally {
      await fresh.close();
    }

    await ui.page.getByRole("button", { name: "Revoke e2e script" }).click();
    await ui.page.getByRole("dialog", { name: "Revoke key?" }).getByRole("button", { name: "Revoke" }).click();
    await ui.page.getByTestId("no-keys").waitFor();
  });

  it("threw no errors in the page", () => {
    // The fresh page's socket is refused (401) until it gives the key: that is the prompt's trigger.
    expect(ui.env.pageErrors.filter((message) => !/401|Unauthorized|WebSocket/i.test(message))).toEqual([]);
  });

  it("shows a disconnected banner when the server goes away", async () => {
    expect(await ui.page.getByTestId("connection-banner").count()).toBe(0);
    expect(await ui.env.serve.stop()).toBe(0);
    const banner = ui.page.getByTestId("connection-banner");
    await banner.waitFor();
    expect(await banner.innerText()).toContain("Disconnected from Marduk Local.");
    await ui.env.screenshot("disconnected");
  });
});
