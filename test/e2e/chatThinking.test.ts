/**
 * A thinking model in the chat UI (Chromium against `marduk-local serve`): the thinking
 * fixture's reply shows its thought in a collapsed "Thinking" disclosure above the answer, and
 * the answer holds only the answer, also after a reload (both are stored).
 */
import { existsSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import path from "node:path";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { getThinkingModelPath, THINKING_FIXTURE_ANSWER, THINKING_FIXTURE_THOUGHT } from "../fixtures/gguf/index.js";
import { CURRENT_THEME } from "./pageScripts.js";
import { CHROMIUM_PATH, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
const THINKING_MODEL_ID = "marduk-thinking";
const poll = { timeout: 30_000, interval: 100 };

/** Records every thinking text the streaming reply shows, in `window.__thoughts`. */
const RECORD_STREAMED_THINKING = `(() => {
  const seen = [];
  window.__thoughts = seen;
  new MutationObserver(() => {
    const element = document.querySelector('[data-testid="streaming-message"] [data-testid="thinking-content"]');
    if (element && element.textContent !== seen[seen.length - 1]) seen.push(element.textContent ?? "");
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

describe.skipIf(!hasChromium)("a thinking model's reply in the chat UI", () => {
  const ui = useUiEnvironment({
    pageTimeoutMs: 30_000,
    beforeOpen: async ({ modelsDir }) => {
      // The models folder is watched: the copied file joins the library.
      await copyFile(await getThinkingModelPath(), path.join(modelsDir, `${THINKING_MODEL_ID}.gguf`));
    },
    afterOpen: async ({ page }) => {
      await page.locator(`[data-testid="library-row"][data-model-id="${THINKING_MODEL_ID}"]`).waitFor();
    },
  });

  const reply = (): Locator => ui.page.locator('[data-testid="message"][data-role="assistant"]').first();

  /** Checks the stored reply: the thought in a collapsed disclosure, the answer alone below it. */
  async function expectThoughtApartFromAnswer(): Promise<void> {
    await expect.poll(() => reply().getByTestId("message-content").innerText(), poll).toBe(THINKING_FIXTURE_ANSWER);
    const thinking = reply().getByTestId("thinking");
    expect(await thinking.count()).toBe(1);
    expect(await thinking.getAttribute("open")).toBeNull();
    expect(await reply().getByTestId("thinking-summary").innerText()).toMatch(/^(Thought for \d+ tokens?|Thinking)$/);
    await reply().getByTestId("thinking-summary").click();
    expect(await thinking.getAttribute("open")).not.toBeNull();
    expect((await reply().getByTestId("thinking-content").innerText()).trim()).toBe(THINKING_FIXTURE_THOUGHT);
    // Neither the markers nor the thought leak into the answer.
    expect(await reply().getByTestId("message-content").innerText()).not.toMatch(/think/i);
  }

  it("shows the thought collapsed above the answer, streaming and stored", async () => {
    await ui.page.evaluate(RECORD_STREAMED_THINKING);
    await ui.page.getByTestId("nav-chat").click();
    await ui.page.getByTestId("new-conversation").click();
    await ui.page.waitForURL(/#\/chat\/.+/);
    await ui.page.getByTestId("model-picker").selectOption(THINKING_MODEL_ID);
    await ui.page.getByTestId("composer-input").fill("Think first, then answer.");
    await ui.page.getByTestId("composer-input").press("Enter");
    await expectThoughtApartFromAnswer();
    // Whatever frames showed the thought while it streamed held a part of it, never the answer.
    const streamed = await ui.page.evaluate<string[]>("window.__thoughts ?? []");
    for (const text of streamed) expect(THINKING_FIXTURE_THOUGHT.startsWith(text.trim())).toBe(true);
    console.info(`[e2e] the streaming reply showed ${streamed.length} thinking texts`);
    await ui.env.screenshot("chat-thinking");

    await ui.page.getByLabel("Theme").selectOption("dark");
    await expect.poll(() => ui.page.evaluate<string>(CURRENT_THEME), poll).toBe("dark");
    await ui.env.screenshot("chat-thinking-dark");
    await ui.page.getByLabel("Theme").selectOption("system");
    expect(ui.env.pageErrors).toEqual([]);
  });

  it("keeps the thought apart from the answer across a reload", async () => {
    await ui.page.reload();
    await expectThoughtApartFromAnswer();
  });
});
