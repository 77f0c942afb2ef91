/**
 * Remote providers in the browser UI (Debian's Chromium through playwright-core) against a real
 * `marduk-local serve`, with the fake OpenAI-compatible upstream on loopback as the remote: add it
 * on the Server screen (a field error next to its field, a connection test, save), see it healthy
 * with its model, chat with that model, see the usage and cost on the Dashboard, edit it without
 * retyping the key, and remove it. Screenshots go to test-results/.
 */
import { existsSync } from "node:fs";
import type { Locator } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeUpstream } from "../fixtures/fakeUpstream/index.js";
import { CHROMIUM_PATH, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`[marduk-local tests] ${CHROMIUM_PATH} is missing (apt-get install chromium): the browser tests are skipped.`);

const PROVIDER_ID = "fake-upstream";
const REMOTE_MODEL = "remote-model";
const UPSTREAM_KEY = "sk-e2e-upstream-key-2468";
const REMOTE_REPLY = "Hello from the fake upstream.";

const poll = { timeout: 20_000, interval: 100 };

describe.skipIf(!hasChromium)("remote providers in the browser UI", () => {
  let upstream: FakeUpstream;

  // Registered before the environment's hooks: the upstream starts first and closes last (afterAll hooks run in reverse).
  beforeAll(async () => {
    upstream = await FakeUpstream.start({ models: [REMOTE_MODEL], name: "fake", apiKey: UPSTREAM_KEY });
  });
  afterAll(async () => {
    await upstream?.close();
  });
  const ui = useUiEnvironment();

  const providersCard = (): Locator => ui.page.getByTestId("providers");
  const providerRow = (): Locator => ui.page.locator(`[data-testid="provider-row"][data-provider-id="${PROVIDER_ID}"]`);
  const editor = (): Locator => ui.page.getByTestId("provider-editor");

  it("adds the upstream as a provider: a field error next to its field, a connection test, then healthy with its model", async () => {
    await ui.page.getByTestId("nav-server").click();
    await providersCard().getByTestId("no-providers").waitFor();
    await providersCard().getByRole("button", { name: "Add provider" }).click();

    // Credentials in the URL are refused by the core, and the message sits under the Base URL field.
    await editor().getByLabel("Provider id").fill(PROVIDER_ID);
    await editor().getByLabel("Base URL").fill(upstream.url.replace("http://", "http://user:secret@"));
    await editor().getByRole("button", { name: "Save provider" }).click();
    await expect.poll(() => editor().getByTestId("provider-error-baseUrl").innerText(), poll).toMatch(/without credentials/);
    expect(await editor().getByLabel("Base URL").getAttribute("aria-invalid")).toBe("true");

    await editor().getByLabel("Base URL").fill(upstream.url);
    expect(await editor().getByTestId("provider-error-baseUrl").count()).toBe(0);
    await editor().getByLabel("API key", { exact: true }).fill("sk-wrong-key");
    await editor().getByRole("button", { name: "Test connection" }).click();
    const result = editor().getByTestId("provider-test-result");
    await expect.poll(() => result.getAttribute("data-ok"), poll).toBe("false");
    expect(await result.innerText()).toMatch(/^Connection failed: /);

    await editor().getByLabel("API key", { exact: true }).fill(UPSTREAM_KEY);
    expect(await editor().getByLabel("API key", { exact: true }).getAttribute("type")).toBe("password");
    await editor().getByLabel("Input price ($ per million tokens)").fill("1000");
    await editor().getByLabel("Output price ($ per million tokens)").fill("2000");
    await editor().getByLabel("Max concurrency").fill("2");
    await editor().getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => result.getAttribute("data-ok"), poll).toBe("true");
    expect(await result.innerText()).toMatch(new RegExp(`Connected in \\d+ ms: 1 model \\(${REMOTE_MODEL}\\)`));
    await editor().scrollIntoViewIfNeeded();
    await ui.env.screenshot("server-provider-form");

    await editor().getByRole("button", { name: "Save provider" }).click();
    await editor().waitFor({ state: "detached" });
    const row = providerRow();
    await expect.poll(() => row.getAttribute("data-health"), poll).toBe("healthy");
    expect(await row.getByTestId("provider-models").innerText()).toBe(REMOTE_MODEL);
    expect(await row.getByTestId("provider-key").innerText()).toBe("sk-…2468");
    expect(await row.innerText()).toContain(upstream.url);
    expect(await row.innerText()).toContain("added here");
    expect(await ui.page.content()).not.toContain(UPSTREAM_KEY);
    await providersCard().scrollIntoViewIfNeeded();
    await ui.env.screenshot("server-providers");
  });

  it("lists the remote model in the chat picker, labelled, and chats with it", async () => {
    await ui.page.getByTestId("nav-chat").click();
    await ui.page.getByTestId("new-conversation").click();
    await ui.page.waitForURL(/#\/chat\/.+/);
    const picker = ui.page.getByTestId("model-picker");
    const option = picker.locator(`option[value="${REMOTE_MODEL}"]`);
    await option.waitFor({ state: "attached" });
    expect(await option.innerText()).toBe(`${REMOTE_MODEL} · remote: ${PROVIDER_ID}`);
    expect(await picker.locator('optgroup[label="Remote providers"] option').count()).toBe(1);
    await picker.selectOption(REMOTE_MODEL);
    await ui.page.getByTestId("composer-input").fill("Hello, remote!");
    await ui.page.getByTestId("composer-input").press("Enter");
    const reply = ui.page.locator('[data-testid="message"][data-role="assistant"]').first();
    await expect.poll(() => reply.getByTestId("message-content").innerText(), poll).toBe(REMOTE_REPLY);
    expect(await reply.getByTestId("stat-finish").innerText()).toBe("finished");
    expect(upstream.requests("chat")).toBe(1);
    await expect.poll(() => ui.page.getByTestId("context-usage").innerText(), poll).toMatch(/tokens · served remotely$/);
    await ui.env.screenshot("chat-remote");
  });

  it("shows the request and its cost in the Dashboard's usage card", async () => {
    await ui.page.getByTestId("nav-dashboard").click();
    const usage = ui.page.getByTestId("usage");
    const row = usage.locator(`[data-testid="usage-row"][data-provider="${PROVIDER_ID}"]`);
    await expect.poll(() => row.getByTestId("usage-requests").innerText(), poll).toBe("1");
    expect(await row.getByTestId("usage-row-cost").innerText()).toMatch(/^\$\d/);
    expect(await usage.getByTestId("usage-local-share-value").innerText()).toBe("0%");
    expect(await usage.getByTestId("usage-cost-value").innerText()).not.toBe("$0");
    await usage.scrollIntoViewIfNeeded();
    await ui.env.screenshot("dashboard-usage");
  });

  it("edits the provider with the key left blank (kept), then removes it after confirming", async () => {
    await ui.page.getByTestId("nav-server").click();
    const row = providerRow();
    await row.getByRole("button", { name: `Edit ${PROVIDER_ID}` }).click();
    expect(await editor().getByLabel("Provider id").inputValue()).toBe(PROVIDER_ID);
    expect(await editor().getByLabel("API key", { exact: true }).inputValue()).toBe("");
    expect(await editor().getByLabel("Input price ($ per million tokens)").inputValue()).toBe("1000");
    await editor().getByLabel("Input price ($ per million tokens)").fill("5");
    // Testing with the key left blank uses the stored one.
    await editor().getByRole("button", { name: "Test connection" }).click();
    await expect.poll(() => editor().getByTestId("provider-test-result").getAttribute("data-ok"), poll).toBe("true");
    await editor().getByRole("button", { name: "Save changes" }).click();
    await editor().waitFor({ state: "detached" });
    expect(await row.getByTestId("provider-key").innerText()).toBe("sk-…2468");
    await expect.poll(() => row.getAttribute("data-health"), poll).toBe("healthy");

    await row.getByRole("button", { name: `Remove ${PROVIDER_ID}` }).click();
    const dialog = ui.page.getByRole("dialog", { name: "Remove provider?" });
    await dialog.getByRole("button", { name: "Remove" }).click();
    await row.waitFor({ state: "detached" });
    await providersCard().getByTestId("no-providers").waitFor();

    // Its model leaves the chat picker: the open conversation, which used it, shows it as missing.
    await ui.page.getByTestId("nav-chat").click();
    const picker = ui.page.getByTestId("model-picker");
    await expect.poll(() => picker.locator(`option[value="${REMOTE_MODEL}"]`).innerText(), poll).toBe(`${REMOTE_MODEL} (missing)`);
    expect(await picker.locator('optgroup[label="Remote providers"]').count()).toBe(0);
  });

  it("threw no errors in the page", () => {
    expect(ui.env.pageErrors).toEqual([]);
  });
});
