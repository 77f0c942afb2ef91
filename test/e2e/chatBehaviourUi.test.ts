/**
 * Chat behaviour in the browser (Chromium against `marduk-local serve`, the fixture model):
 * stick-to-bottom streaming and "Jump to latest", app defaults and presets, regenerate versions
 * (‹ 2/2 ›), and a failed send (context full under "stop at limit") with Retry.
 */
import { existsSync } from "node:fs";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { CHROMIUM_PATH, FIXTURE_MODEL_ID, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
const poll = { timeout: 30_000, interval: 100 };
const APP_PROMPT = "You are the e2e default assistant.";

/** The message scroller's distance from its bottom (px) and whether it can scroll at all. */
const SCROLL_STATE = `(() => {
  const element = document.querySelector('[data-testid="messages"]');
  return { fromBottom: element.scrollHeight - element.scrollTop - element.clientHeight, scrollable: element.scrollHeight > element.clientHeight + 50, top: element.scrollTop };
})()`;
const SCROLL_TO_TOP = `(() => {
  const element = document.querySelector('[data-testid="messages"]');
  element.scrollTop = 0;
  element.dispatchEvent(new Event("scroll"));
})()`;

interface ScrollState {
  fromBottom: number;
  scrollable: boolean;
  top: number;
}

describe.skipIf(!hasChromium)("chat behaviour", () => {
  const ui = useUiEnvironment({
    pageTimeoutMs: 30_000,
    beforeOpen: async ({ page }) => {
      await page.setViewportSize({ width: 1400, height: 900 });
    },
    afterOpen: async ({ page }) => {
      await page.getByTestId("nav-chat").click();
    },
  });

  const panel = (): Locator => ui.page.getByTestId("chat-settings");
  const scrollState = (): Promise<ScrollState> => ui.page.evaluate<ScrollState>(SCROLL_STATE);
  const replies = (): Locator => ui.page.locator('[data-testid="message"][data-role="assistant"]');
  const idle = (): Promise<void> => ui.page.getByTestId("send-button").waitFor();

  async function newChat(): Promise<void> {
    const before = ui.page.url();
    await ui.page.getByTestId("new-conversation").click();
    await expect.poll(() => ui.page.url(), poll).not.toBe(before);
    await ui.page.waitForURL(/#\/chat\/.+/);
    await ui.page.getByTestId("model-picker").selectOption(FIXTURE_MODEL_ID);
  }

  async function send(text: string): Promise<void> {
    await ui.page.getByTestId("composer-input").fill(text);
    await ui.page.getByTestId("composer-input").press("Enter");
  }

  it("saves app defaults before any chat exists, and a new chat starts with them", async () => {
    // No conversation open: the panel still works (it sets what a new chat starts with).
    await panel().getByRole("textbox", { name: "System prompt" }).fill(APP_PROMPT);
    await panel().getByRole("spinbutton", { name: "Max tokens" }).fill("500");
    await panel().getByText("Ignore end of text").click();
    await panel().getByRole("button", { name: "Save as app default" }).click();
    await panel().getByText("Saved as the app's defaults").waitFor();

    await newChat();
    await expect.poll(() => panel().getByRole("textbox", { name: "System prompt" }).inputValue(), poll).toBe(APP_PROMPT);
    const maxTokens = panel().getByRole("spinbutton", { name: "Max tokens" });
    expect(await maxTokens.inputValue()).toBe("");
    expect(await maxTokens.getAttribute("placeholder")).toBe("500");
    expect(await panel().locator("label.field").filter({ has: ui.page.getByRole("spinbutton", { name: "Max tokens" }) }).getByTestId("setting-source").innerText()).toBe("from app default");
    await ui.env.screenshot("chat-behaviour-app-defaults");
  });

  it("follows the reply at the bottom, stops when scrolled up, and Jump to latest returns", async () => {
    await send("one");
    await idle();
    // Ignore end of text + 500 max tokens (the app defaults): a reply much longer than one sentence.
    expect((await replies().last().getByTestId("message-content").innerText()).split(" ").length).toBeGreaterThan(300);
    await send("two");
    await ui.page.getByTestId("streaming-message").waitFor();
    await ui.page.evaluate(SCROLL_TO_TOP);
    await ui.page.getByTestId("jump-to-latest").waitFor();
    await idle();
    // Scrolled up: the view stayed where the user put it.
    expect((await scrollState()).top).toBe(0);
    await ui.page.getByTestId("jump-to-latest").click();
    await expect.poll(async () => (await scrollState()).fromBottom, poll).toBeLessThan(48);
    await expect.poll(() => ui.page.getByTestId("jump-to-latest").count(), poll).toBe(0);
  });

  it("sticks to the bottom again in a new chat after scrolling up", async () => {
    await ui.page.evaluate(SCROLL_TO_TOP);
    await ui.page.getByTestId("jump-to-latest").waitFor();
    await newChat();
    await send("three");
    await ui.page.getByTestId("streaming-message").waitFor();
    await idle();
    await send("four");
    await idle();
    const state = await scrollState();
    expect(state.scrollable).toBe(true);
    expect(state.fromBottom).toBeLessThan(48);
    expect(await ui.page.getByTestId("jump-to-latest").count()).toBe(0);
    await ui.env.screenshot("chat-behaviour-stuck-to-bottom");
  });

  it("regenerate keeps the old reply as version 1/2", async () => {
    const last = replies().last();
    const firstId = await last.getAttribute("data-message-id");
    await last.getByRole("button", { name: "Regenerate" }).click();
    await expect.poll(() => replies().last().getAttribute("data-message-id"), poll).not.toBe(firstId);
    await idle();
    await expect.poll(() => replies().last().getByTestId("version-label").innerText(), poll).toBe("2/2");
    await replies().last().getByRole("button", { name: "Previous version" }).click();
    await expect.poll(() => replies().last().getAttribute("data-message-id"), poll).toBe(firstId);
    expect(await replies().last().getByTestId("version-label").innerText()).toBe("1/2");
    await ui.env.screenshot("chat-behaviour-versions");
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.env.screenshot("chat-behaviour-versions-390");
    await ui.page.setViewportSize({ width: 1400, height: 900 });
    await replies().last().getByRole("button", { name: "Next version" }).click();
    await expect.poll(() => replies().last().getByTestId("version-label").innerText(), poll).toBe("2/2");
  });

  it("saves a preset and applies it to another chat", async () => {
    await panel().getByRole("spinbutton", { name: "Temperature" }).fill("0.42");
    await panel().getByLabel("Preset name").fill("E2E precise");
    await panel().getByRole("button", { name: "Save as preset" }).click();
    await panel().getByText("Saved preset “E2E precise”").waitFor();
    await newChat();
    expect(await panel().getByRole("spinbutton", { name: "Temperature" }).inputValue()).toBe("");
    await panel().getByLabel("Preset", { exact: true }).selectOption("E2E precise");
    await panel().getByRole("button", { name: "Apply preset" }).click();
    await expect.poll(() => panel().getByRole("spinbutton", { name: "Temperature" }).inputValue(), poll).toBe("0.42");
    await ui.env.screenshot("chat-behaviour-preset");
  });

  it("a send that overflows the context under 'stop at limit' fails, keeps the message, and Retry succeeds", async () => {
    await newChat();
    await panel().getByLabel("When the context is full").selectOption("stopAtLimit");
    await panel().getByRole("button", { name: "Apply", exact: true }).click();
    await panel().getByText("Saved", { exact: true }).waitFor();
    // About 1,500 tokens, then 600 more: together past the 2,048-token context.
    await send("fox ".repeat(1500).trim());
    await idle();
    await send("dog ".repeat(600).trim());
    const failed = ui.page.locator('[data-testid="message"][data-status="failed"]');
    await failed.waitFor();
    await failed.getByRole("button", { name: "Retry" }).waitFor();
    await failed.getByRole("button", { name: "Delete" }).waitFor();
    await ui.env.screenshot("chat-behaviour-failed-1400");
    // The failed mark and the switcher use the theme's colours: the dark theme too.
    await ui.page.emulateMedia({ colorScheme: "dark" });
    await ui.env.screenshot("chat-behaviour-failed-1400-dark");
    await ui.page.emulateMedia({ colorScheme: "light" });
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.env.screenshot("chat-behaviour-failed-390");
    await ui.page.setViewportSize({ width: 1400, height: 900 });

    await panel().getByLabel("When the context is full").selectOption("rollingWindow");
    await panel().getByRole("button", { name: "Apply", exact: true }).click();
    await panel().getByText("Saved", { exact: true }).waitFor();
    await failed.getByRole("button", { name: "Retry" }).click();
    await expect.poll(() => failed.count(), poll).toBe(0);
    await idle();
    await expect.poll(() => replies().count(), poll).toBe(2);
    // Retried, not sent twice.
    expect(await ui.page.locator('[data-testid="message"][data-role="user"]').count()).toBe(2);
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.env.screenshot("chat-behaviour-retried-390");
    await ui.page.setViewportSize({ width: 1400, height: 900 });
    // The failed send's error is expected; a blocked font (the Markdown view's, not this feature's) is not ours.
    expect(ui.env.pageErrors.filter((error) => !/context|Loading the font/i.test(error))).toEqual([]);
  });
});
