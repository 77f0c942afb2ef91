/**
 * The load dialog protects and informs (Debian's Chromium through playwright-core, against a real
 * `marduk-local serve` with the fixture model, trained for 2,048 tokens, one block): the memory
 * the load would take against the machine's free RAM, changing with the context size; a warning
 * past the trained context with a "use the trained context" action; the GPU layers field with the
 * model's layer count; and, after loading, the library row with the context it runs with. At
 * 1400×900 and 390×844, light and dark; screenshots go to test-results/.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { Locator } from "playwright-core";
import { describe, expect, it } from "vitest";
import { CHROMIUM_PATH, FIXTURE_MODEL_ID, RESULTS_DIR, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`[marduk-local tests] ${CHROMIUM_PATH} is missing (apt-get install chromium): the browser tests are skipped.`);

const poll = { timeout: 20_000, interval: 100 };
/** The fixture's one block plus the output layer. */
const FIXTURE_LAYERS = 2;

describe.skipIf(!hasChromium)("the load dialog in the browser UI", () => {
  const ui = useUiEnvironment({
    afterOpen: async ({ page }) => {
      await page.getByTestId("nav-models").click();
    },
  });

  const row = (): Locator => ui.page.locator(`[data-testid="library-row"][data-model-id="${FIXTURE_MODEL_ID}"]`);
  const dialog = (): Locator => ui.page.getByRole("dialog", { name: `Load ${FIXTURE_MODEL_ID}` });
  /** The screen as seen (a modal dialog sits in the viewport, which a full-page capture misplaces). */
  const screenshot = (name: string): Promise<Buffer> => ui.page.screenshot({ path: path.join(RESULTS_DIR, `${name}.png`) });
  const ramNeed = async (): Promise<number> => Number(await dialog().getByTestId("estimate-ram").getAttribute("data-need-bytes"));

  /** Opens the dialog and checks the estimate, the trained-context warning and the layer count; returns the RAM needs at the default and at 100,000 tokens. */
  async function checkDialog(name: string): Promise<{ atDefault: number; atLarge: number }> {
    await row().getByRole("button", { name: `Load ${FIXTURE_MODEL_ID}` }).click();
    await dialog().waitFor();
    const ram = dialog().getByTestId("estimate-ram");
    await expect.poll(() => ram.innerText(), poll).toMatch(/^needs [\d.]+ (KB|MB|GB) of [\d.]+ (MB|GB|TB) free RAM/);
    expect(await ram.getByRole("progressbar").getAttribute("aria-valuenow")).not.toBeNull();
    const atDefault = await ramNeed();
    expect(await dialog().getByTestId("load-estimate").innerText()).toMatch(/For 2,048 tokens × 4 sequences/);
    expect(await dialog().getByTestId("load-fit").innerText()).toBe("fits in RAM");
    expect(await dialog().getByTestId("trained-context-warning").count()).toBe(0);

    // The layer count, with the GPU layers field and as the count's upper bound.
    expect(await dialog().getByTestId("gpu-layer-count").innerText()).toMatch(new RegExp(`^${FIXTURE_LAYERS} layers`));
    await dialog().getByLabel("GPU layers").selectOption("count");
    expect(await dialog().getByTestId("gpu-layer-count").innerText()).toBe(`of ${FIXTURE_LAYERS} layers`);
    expect(await dialog().getByLabel("Layers on the GPU").getAttribute("max")).toBe(String(FIXTURE_LAYERS));
    await dialog().getByLabel("Layers on the GPU").fill(String(FIXTURE_LAYERS + 1));
    await expect.poll(() => dialog().getByTestId("load-options-error").innerText(), poll).toBe(`GPU layers can be at most ${FIXTURE_LAYERS}: the model has ${FIXTURE_LAYERS} layers.`);
    await dialog().getByLabel("GPU layers").selectOption("auto");

    // Past the trained context: a warning (with the way back), and a larger estimate.
    await dialog().getByLabel("Context size (tokens)").fill("100000");
    const warning = dialog().getByTestId("trained-context-warning");
    await warning.waitFor();
    expect(await warning.innerText()).toMatch(/This model was trained for 2,048 tokens; beyond that its output degrades/);
    await expect.poll(ramNeed, poll).toBeGreaterThan(atDefault);
    await expect.poll(() => dialog().getByTestId("load-estimate").innerText(), poll).toMatch(/For 100,000 tokens × 4 sequences/);
    const atLarge = await ramNeed();
    expect(await ram.innerText()).not.toBe("");
    await screenshot(`load-dialog-${name}`);

    await warning.getByRole("button", { name: "Use 2,048" }).click();
    expect(await dialog().getByLabel("Context size (tokens)").inputValue()).toBe("2048");
    expect(await warning.count()).toBe(0);
    await expect.poll(ramNeed, poll).toBe(atDefault);
    return { atDefault, atLarge };
  }

  it("at 390×844 (dark): the estimate against free RAM, the trained-context warning and the layer count", async () => {
    await ui.page.setViewportSize({ width: 390, height: 844 });
    await ui.page.emulateMedia({ colorScheme: "dark" });
    const { atDefault, atLarge } = await checkDialog("mobile-dark");
    console.info(`[e2e] fixture RAM need: ${atDefault} B at 2,048 tokens, ${atLarge} B at 100,000 (× 4 sequences)`);
    // The dialog fits the narrow screen: no horizontal scrolling inside it.
    const widths = await dialog().evaluate((element) => ({ scroll: element.scrollWidth, client: element.clientWidth }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client);
    await dialog().getByRole("button", { name: "Cancel" }).click();
    await dialog().waitFor({ state: "detached" });
    await ui.page.emulateMedia({ colorScheme: "light" });
  });

  it("at 1400×900: loads past the trained context on purpose, and the library row shows the loaded context", async () => {
    await ui.page.setViewportSize({ width: 1400, height: 900 });
    await checkDialog("desktop");
    await dialog().getByLabel("Context size (tokens)").fill("100000");
    await dialog().getByLabel("Parallel sequences").fill("2");
    await dialog().getByTestId("trained-context-warning").waitFor();
    await expect.poll(() => dialog().getByTestId("load-estimate").innerText(), poll).toMatch(/For 100,000 tokens × 2 sequences/);
    expect(await dialog().getByTestId("load-fit").innerText()).toBe("fits in RAM");
    // Advanced options are one click away, and still there.
    await dialog().getByText(/^Advanced:/).click();
    await dialog().getByTestId("load-kv-cache-type").waitFor();
    await screenshot("load-dialog-desktop-advanced");
    const load = dialog().getByRole("button", { name: "Load", exact: true });
    // A warning the user overrides, not a block: Load stays enabled.
    expect(await load.isDisabled()).toBe(false);
    await load.click();
    await dialog().waitFor({ state: "detached" });
    await expect.poll(() => row().getByTestId("model-state").innerText(), { ...poll, timeout: 60_000 }).toBe("loaded");
    const loaded = row().getByTestId("loaded-context");
    await expect.poll(() => loaded.innerText(), poll).toBe("loaded: 100,000 × 2 sequences");
    expect(await loaded.getAttribute("data-past-trained")).toBe("true");
    await row().scrollIntoViewIfNeeded();
    await ui.env.screenshot("load-library-loaded-context-desktop");
  });

  it("at 390×844: the library row still shows the loaded context", async () => {
    await ui.page.setViewportSize({ width: 390, height: 844 });
    const loaded = row().getByTestId("loaded-context");
    await loaded.scrollIntoViewIfNeeded();
    expect(await loaded.isVisible()).toBe(true);
    expect(await loaded.innerText()).toBe("loaded: 100,000 × 2 sequences");
    await ui.env.screenshot("load-library-loaded-context-mobile");
    await row().getByRole("button", { name: `Unload ${FIXTURE_MODEL_ID}` }).click();
    await expect.poll(() => row().getByTestId("model-state").innerText(), poll).toBe("not loaded");
    expect(await row().getByTestId("loaded-context").count()).toBe(0);
    expect(ui.env.pageErrors).toEqual([]);
  });
});
