/**
 * The Hugging Face browser as a daily user meets it (Debian's Chromium through playwright-core,
 * a real `marduk-local serve`, the fake hub): search above the starters, starter cards with
 * their download size, a repository's model card rendered safely (its script never runs, its
 * images are links, its links never navigate the app), each file's fit numbers in plain sight
 * with the best fit marked, a split model's real fit, the token field for a gated repository,
 * and a failed starter download offering Retry, not Resume. At 1400×900 and 390×844; screenshots
 * go to test-results/hub-*.png.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  FAKE_HUB_TOKEN,
  GATED_REPO,
  SPLIT_GGUF_PARTS,
  SPLIT_GGUF_REPO,
  SPLIT_PARTS,
  SPLIT_REPO,
  TINY_LLAMA_Q8_0,
  TINY_LLAMA_REPO,
} from "../fixtures/fakeHub/index.js";
import { CHROMIUM_PATH, VIEWPORTS, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`[marduk-local tests] ${CHROMIUM_PATH} is missing (apt-get install chromium): the browser tests are skipped.`);

const poll = { timeout: 20_000, interval: 100 };
describe.skipIf(!hasChromium)("the Hugging Face browser in the browser UI", () => {
  const ui = useUiEnvironment({
    afterOpen: async ({ page }) => {
      await page.getByTestId("nav-models").click();
    },
  });

  const repoResult = (repo: string): Locator => ui.page.locator(`[data-testid="hub-result"][data-repo="${repo}"]`);

  /** Searches the hub and opens a repository's files and card. */
  async function openRepo(query: string, repo: string): Promise<Locator> {
    await ui.page.getByTestId("hub-query").fill(query);
    await ui.page.getByRole("button", { name: "Search", exact: true }).click();
    const result = repoResult(repo);
    await result.waitFor();
    const toggle = result.getByRole("button", { name: /files/ });
    if ((await toggle.innerText()) === "Show files") await toggle.click();
    return result;
  }

  it("puts search above the starters, and starter cards show their download size", async () => {
    for (const viewport of VIEWPORTS) {
      await ui.page.setViewportSize(viewport);
      const search = await ui.page.getByTestId("hub-browser").boundingBox();
      const starters = await ui.page.getByTestId("starter-models").boundingBox();
      expect(search && starters && search.y < starters.y).toBe(true);
      const smol = ui.page.locator('[data-testid="starter-model"][data-name="smollm2-360m"]');
      await expect.poll(() => smol.getByTestId("starter-size").innerText(), poll).toMatch(/^Q8_0 · \d+(\.\d+)? (KB|MB)$/);
      // A starter the hub does not have says so instead of showing a guess.
      const qwen = ui.page.locator('[data-testid="starter-model"][data-name="qwen2.5-0.5b"]');
      expect(await qwen.getByTestId("starter-size").innerText()).toBe("Q8_0 · size unknown");
      await ui.page.getByTestId("hub-browser").scrollIntoViewIfNeeded();
      await ui.env.screenshot(`hub-search-and-starters-${viewport.name}`);
    }
    await ui.page.setViewportSize(VIEWPORTS[0]);
  });

  it("renders the model card safely, with each file's fit numbers and the best fit marked", async () => {
    for (const viewport of VIEWPORTS) {
      await ui.page.setViewportSize(viewport);
      const result = await openRepo("tiny", TINY_LLAMA_REPO);
      const card = result.getByTestId("hub-card-markdown");
      await card.locator("h1", { hasText: "Tiny Llama model card" }).waitFor();
      expect(await card.locator("table").count()).toBe(1);
      expect(await card.innerText()).not.toContain("front-matter-marker");
      // The script is gone, and it never ran; images are links labelled with their alt text.
      expect(await card.locator("script").count()).toBe(0);
      expect(await ui.page.evaluate("window.__cardScriptRan")).toBeUndefined();
      expect(await card.locator("img").count()).toBe(0);
      expect(await card.getByRole("link", { name: "image: a llama picture" }).count()).toBe(1);
      expect(await card.getByText("[image: banner art]").count()).toBe(1);
      // A javascript: link does nothing, and no link navigates the app itself.
      const url = ui.page.url();
      await card.getByText("bad link").click();
      expect(await ui.page.evaluate("window.__cardLinkRan")).toBeUndefined();
      expect(ui.page.url()).toBe(url);
      const popup = ui.page.waitForEvent("popup");
      await card.getByRole("link", { name: "the license" }).click();
      const opened = await popup;
      expect(opened.url()).toBe(`${ui.env.hub.url}/${TINY_LLAMA_REPO}/blob/main/LICENSE`);
      await opened.close();
      expect(ui.page.url()).toBe(url);

      const q8 = result.locator(`[data-testid="hub-file"][data-path="${TINY_LLAMA_Q8_0}"]`);
      await q8.waitFor();
      const numbers = q8.getByTestId("fit-numbers");
      expect(await numbers.isVisible()).toBe(true);
      expect(await numbers.innerText()).toMatch(/^([\d.]+ (KB|MB|GB) of [\d.]+ GB (RAM|VRAM) free|needs .+ free)$/);
      expect(await result.getByTestId("fit-numbers").count()).toBe(await result.getByTestId("hub-file").count());
      // Exactly one best fit: Q8_0 (nothing at or below Q4_K_M's quality exists, so the closest better one that fits).
      expect(await result.getByTestId("best-fit").count()).toBe(1);
      expect(await q8.getByTestId("best-fit").isVisible()).toBe(true);
      await result.scrollIntoViewIfNeeded();
      await ui.env.screenshot(`hub-model-card-${viewport.name}`);
    }
    await ui.page.setViewportSize(VIEWPORTS[0]);
    // The best-fit row and the card in the dark theme (the theme follows the system by default).
    await ui.page.emulateMedia({ colorScheme: "dark" });
    await ui.env.screenshot("hub-model-card-desktop-dark");
    await ui.page.emulateMedia({ colorScheme: "light" });
  });

  it("shows a split model's fit, counting all its parts", async () => {
    // gguf-split parts: the fit comes from every part's header.
    const headers = await openRepo("split", SPLIT_GGUF_REPO);
    const headerRow = headers.locator(`[data-testid="hub-file"][data-path="${SPLIT_GGUF_PARTS[0]}"]`);
    await headerRow.waitFor();
    expect(await headerRow.innerText()).toContain("(3 parts)");
    expect(await headerRow.getByTestId("fit-badge").innerText()).toMatch(/^(fits on GPU|fits in RAM|too large)$/);
    expect(await headerRow.getByTestId("fit-numbers").innerText()).toMatch(/^([\d.]+ (KB|MB|GB) of|needs) .* free$/);
    expect(await headerRow.getByTestId("best-fit").count()).toBe(1);
    await headers.scrollIntoViewIfNeeded();
    await ui.env.screenshot("hub-split-gguf-model");
    await headers.getByRole("button", { name: "Hide files" }).click();

    // Parts that are byte slices (no header of their own): judged by the size of all of them.
    const result = await openRepo("split", SPLIT_REPO);
    const row = result.locator(`[data-testid="hub-file"][data-path="${SPLIT_PARTS[0]}"]`);
    await row.waitFor();
    expect(await row.innerText()).toContain("(3 parts)");
    expect(await row.getByTestId("fit-badge").innerText()).toMatch(/^(fits on GPU|fits in RAM|too large)$/);
    expect(await row.getByTestId("fit-numbers").innerText()).toMatch(/^([\d.]+ (KB|MB|GB) of|needs) .* free \(by file size\)$/);
    expect(await row.innerText()).not.toContain("unknown fit");
    await result.scrollIntoViewIfNeeded();
    await ui.env.screenshot("hub-split-model");
  });

  it("asks for a token for a gated repository; the token is saved, shown only as configured, and used", async () => {
    const result = await openRepo("gated", GATED_REPO);
    await expect.poll(() => result.getByTestId("hub-files-error").innerText(), poll).toMatch(/gated or private.*token/i);

    const field = ui.page.getByTestId("hub-token");
    expect(await field.getByTestId("hub-token-status").innerText()).toBe("not set");
    await field.locator("summary").click();
    await field.getByTestId("hub-token-input").fill(FAKE_HUB_TOKEN);
    await field.getByTestId("hub-token-save").click();
    await expect.poll(() => field.getByTestId("hub-token-status").innerText(), poll).toBe("configured");
    expect(await field.getByTestId("hub-token-input").inputValue()).toBe("");
    expect(await ui.page.locator("body").innerText()).not.toContain(FAKE_HUB_TOKEN);
    const tokenFile = path.join(ui.env.outsideDir, "data", "hf-token");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(FAKE_HUB_TOKEN);
    await ui.env.screenshot("hub-token-configured");
    await ui.page.setViewportSize(VIEWPORTS[1]);
    await field.scrollIntoViewIfNeeded();
    await ui.env.screenshot("hub-token-configured-phone");
    await ui.page.setViewportSize(VIEWPORTS[0]);

    // With the token the gated repository's files are read again, and listed.
    await result.getByTestId("hub-files").waitFor();
    expect(await result.getByTestId("hub-files-error").count()).toBe(0);
  });

  it("offers Retry and Remove, not Resume, for a starter download that is not on the hub", async () => {
    await ui.page.getByRole("button", { name: "Download Qwen2.5 0.5B Instruct" }).click();
    const row = ui.page.locator('[data-testid="download-row"][data-ref^="hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF"]');
    await expect.poll(() => row.getAttribute("data-state"), poll).toBe("failed");
    expect(await row.getByRole("button", { name: /^Retry download of/ }).count()).toBe(1);
    expect(await row.getByRole("button", { name: /^Remove / }).count()).toBe(1);
    expect(await row.getByRole("button", { name: /^Resume/ }).count()).toBe(0);
    for (const viewport of VIEWPORTS) {
      await ui.page.setViewportSize(viewport);
      await row.scrollIntoViewIfNeeded();
      await ui.env.screenshot(`hub-failed-starter-download-${viewport.name}`);
    }
    await ui.page.setViewportSize(VIEWPORTS[0]);
    await row.getByRole("button", { name: /^Remove / }).click();
    expect(await row.count()).toBe(0);
  });
});
