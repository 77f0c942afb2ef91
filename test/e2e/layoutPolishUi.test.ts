/**
 * The app shell at phone and desktop sizes, and the chat's polish (Chromium against `marduk-local
 * serve`): no screen is wider than a 390 px window in either theme; the sidebar collapses to a
 * rail (remembered) and is a drawer on narrow windows; the chat shows one pane at a time there;
 * code blocks have a copy button; formulas are typeset by KaTeX with its bundled fonts; counts
 * are singular for one; Tab reaches the composer from the header without walking every message;
 * the reply region is a polite live region; the dashboard stays cheap while it is open.
 *
 * The fixture model only ever writes one sentence, so its stored reply is shown to the page as
 * Markdown with a code block and formulas (the page's WebSocket frames are rewritten): what is
 * tested is how the UI renders a reply, not what a model writes.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { CDPSession } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURE_SENTENCE } from "../fixtures/gguf/fixtureModel.js";
import { connectWebSocket, recordChat, type ContractConnection } from "../helpers/rpcConnections.js";
import { CHROMIUM_PATH, FIXTURE_MODEL_ID, useUiEnvironment } from "./uiEnvironment.js";

const hasChromium = existsSync(CHROMIUM_PATH);
const poll = { timeout: 30_000, interval: 100 };

const CODE = 'const answer = 42;\nconsole.log("answer", answer);';
/** What the page is shown instead of the fixture's sentence. */
const MARKDOWN_REPLY = [
  "Here is some code:",
  "",
  "```js",
  CODE,
  "```",
  "",
  "Inline $E = mc^2$ and \\(a^2 + b^2 = c^2\\), then a display formula:",
  "",
  "$$",
  "\\int_0^1 x^2 \\, dx = \\frac{1}{3}",
  "$$",
  "",
  "\\[\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]",
  "",
  '<span data-testid="injected" style="position: fixed; inset: 0">not styled</span>',
].join("\n");

const SCREENS = ["models", "chat", "dashboard", "server"] as const;
const NARROW = { width: 390, height: 844 };
const WIDE = { width: 1400, height: 900 };

/** Rewrites the fixture's sentence in every frame the server sends the page. */
function rewriteFrame(frame: string): string {
  return frame.includes("quick brown fox") ? frame.split(JSON.stringify(FIXTURE_SENTENCE).slice(1, -1)).join(JSON.stringify(MARKDOWN_REPLY).slice(1, -1)) : frame;
}

/**
 * Fills the page's first read of the metrics history to the full 5-minute window (as after five
 * minutes on the dashboard), so the dashboard's cost is measured with every chart full.
 */
function fillHistory(frame: string, historyCalls: Set<number>): string {
  const message = JSON.parse(frame) as { type: string; id: number; result?: unknown };
  if (message.type !== "result" || !historyCalls.delete(message.id) || !Array.isArray(message.result) || message.result.length === 0) return frame;
  const samples = message.result as Array<Record<string, unknown> & { time: number }>;
  const first = samples[0]!;
  const missing = Math.max(0, 300 - samples.length);
  const older = Array.from({ length: missing }, (_, index) => {
    const age = missing - index;
    return {
      ...first,
      time: first.time - age * 1000,
      cpuPercent: 20 + 10 * Math.sin(age / 7),
      decodeTokensPerSecond: age % 20 < 5 ? 30 + (age % 7) : 0,
      promptTokensPerSecond: age % 20 === 0 ? 400 : 0,
      timeToFirstTokenMs: age % 20 === 0 ? 180 + age : null,
      activeRequests: age % 20 < 5 ? 1 : 0,
    };
  });
  return JSON.stringify({ ...message, result: [...older, ...samples] });
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/**
 * CPU seconds used so far by the renderer processes of the browser this test started (found
 * below this process in /proc): time really spent on a CPU, unlike task durations, which grow
 * when the machine is busy with other work.
 */
function rendererCpuSeconds(): number {
  const processes = new Map<number, { parent: number; cpuTicks: number; renderer: boolean }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const renderer = readFileSync(`/proc/${name}/cmdline`, "utf8").includes("--type=renderer");
      processes.set(Number(name), { parent: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]), renderer });
    } catch {
      // The process ended meanwhile.
    }
  }
  const isMine = (pid: number): boolean => {
    for (let current = pid, depth = 0; current > 1 && depth < 32; depth++) {
      if (current === process.pid) return true;
      current = processes.get(current)?.parent ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, info] of processes) if (info.renderer && isMine(pid)) ticks += info.cpuTicks;
  return ticks / USER_HZ;
}

describe.skipIf(!hasChromium)("the app at phone and desktop sizes, and the chat's polish", () => {
  let contract: ContractConnection;
  let markdownConversationId: string;
  let singleMessageConversationId: string;

  const ui = useUiEnvironment({
    pageTimeoutMs: 30_000,
    beforeOpen: async ({ serve, page }) => {
      contract = await connectWebSocket(serve.url);
      const { api } = contract;
      const chat = recordChat(api);
      // A conversation with a reply (shown as Markdown), and one whose reply was deleted: one message.
      const withReply = await api.conversations.create({ title: "Markdown reply", modelId: FIXTURE_MODEL_ID });
      const first = await api.chat.send({ conversationId: withReply.id, content: "Show me code and maths." });
      expect((await chat.finished(first.generationId)).end.type).toBe("done");
      markdownConversationId = withReply.id;
      const single = await api.conversations.create({ title: "Single message", modelId: FIXTURE_MODEL_ID });
      const second = await api.chat.send({ conversationId: single.id, content: "Hello" });
      expect((await chat.finished(second.generationId)).end.type).toBe("done");
      await api.conversations.deleteMessage({ conversationId: single.id, messageId: second.assistantMessageId });
      singleMessageConversationId = single.id;
      chat.stop();

      await page.routeWebSocket(
        () => true,
        (socket) => {
          const server = socket.connectToServer();
          const historyCalls = new Set<number>();
          socket.onMessage((message) => {
            if (typeof message === "string" && message.includes('"metrics.history"')) historyCalls.add((JSON.parse(message) as { id: number }).id);
            server.send(message);
          });
          server.onMessage((message) => socket.send(typeof message === "string" ? rewriteFrame(fillHistory(message, historyCalls)) : message));
        },
      );
    },
  });
  // Registered after the environment's hooks, so it runs before the environment is disposed (afterAll hooks run in reverse).
  afterAll(async () => {
    await contract?.close();
  });

  async function show(screen: string, viewport: { width: number; height: number }, theme: "light" | "dark"): Promise<void> {
    await ui.page.setViewportSize(viewport);
    await ui.page.emulateMedia({ colorScheme: theme });
    await ui.page.evaluate(`window.location.hash = "#/${screen}"`);
    await ui.page.getByTestId(`screen-${screen.split("/")[0]}`).waitFor();
  }

  const horizontalOverflow = (): Promise<number> => ui.page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");

  /** The deepest elements that reach past the window's right edge (to say what overflows). */
  const OVERFLOWING = `[...document.querySelectorAll("body *")]
    .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 1 && ![...element.children].some((child) => child.getBoundingClientRect().right > window.innerWidth + 1))
    .slice(0, 5)
    .map((element) => element.tagName.toLowerCase() + "." + [...element.classList].join(".") + " " + Math.round(element.getBoundingClientRect().right))`;

  it("fits every screen into 390 px and 1400 px windows, light and dark", async () => {
    const tooWide: string[] = [];
    for (const theme of ["light", "dark"] as const) {
      for (const viewport of [NARROW, WIDE]) {
        for (const screen of SCREENS) {
          await show(screen, viewport, theme);
          if (screen === "dashboard") await ui.page.getByTestId("stat-cpu").waitFor();
          if (screen === "models") await ui.page.locator(`[data-testid="library-row"][data-model-id="${FIXTURE_MODEL_ID}"]`).first().waitFor();
          await ui.env.screenshot(`layout-${screen}-${viewport.width}-${theme}`);
          const overflow = await horizontalOverflow();
          if (overflow > 0) tooWide.push(`${screen} at ${viewport.width} px (${theme}): ${overflow} px too wide: ${(await ui.page.evaluate<string[]>(OVERFLOWING)).join(", ")}`);
        }
      }
      // The theme really changed (the page's background follows it).
      const background = await ui.page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
      expect(background).toBe(theme === "dark" ? "rgb(18, 20, 28)" : "rgb(246, 247, 251)");
    }
    await ui.page.emulateMedia({ colorScheme: "light" });
    expect(tooWide).toEqual([]);
  });

  it("collapses the sidebar to a rail and back, remembered across reloads; a drawer on narrow windows", async () => {
    await show("models", WIDE, "light");
    const sidebarWidth = (): Promise<number> => ui.page.getByTestId("sidebar").evaluate((element) => element.getBoundingClientRect().width);
    expect(await sidebarWidth()).toBeGreaterThan(180);
    await ui.page.getByTestId("sidebar-toggle").click();
    await expect.poll(sidebarWidth, poll).toBeLessThan(80);
    expect(await ui.page.getByTestId("nav-chat").getAttribute("title")).toBe("Chat");
    await ui.env.screenshot("layout-sidebar-rail");
    await ui.page.reload();
    await ui.page.getByTestId("screen-models").waitFor();
    await expect.poll(sidebarWidth, poll).toBeLessThan(80);
    await ui.page.getByTestId("sidebar-toggle").click();
    await expect.poll(sidebarWidth, poll).toBeGreaterThan(180);

    // Narrow: no sidebar until the menu button opens the drawer; picking a screen closes it.
    await show("models", NARROW, "light");
    const nav = ui.page.getByTestId("nav-dashboard");
    await nav.waitFor({ state: "hidden" });
    await ui.page.getByTestId("menu-button").click();
    await nav.waitFor({ state: "visible" });
    // The drawer has slid in (a short transition) and took the focus.
    await expect.poll(() => ui.page.getByTestId("sidebar").evaluate((element) => element.getBoundingClientRect().left), poll).toBe(0);
    expect(await ui.page.evaluate<string | null>("document.activeElement?.closest('[data-testid=sidebar]') ? 'sidebar' : null")).toBe("sidebar");
    await ui.env.screenshot("layout-drawer-390");
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);
    await nav.click();
    await ui.page.getByTestId("screen-dashboard").waitFor();
    await nav.waitFor({ state: "hidden" });
  });

  it("shows one chat pane at a time at 390 px, with the composer fully in view", async () => {
    await show("chat", NARROW, "light");
    const list = ui.page.locator(".conversation-list");
    await list.waitFor({ state: "visible" });
    expect(await ui.page.getByTestId("composer-input").isVisible()).toBe(false);
    await list.getByText("Markdown reply").click();
    await ui.page.waitForURL(new RegExp(`#/chat/${markdownConversationId}`));
    const composer = ui.page.getByTestId("composer-input");
    await composer.waitFor({ state: "visible" });
    expect(await list.isVisible()).toBe(false);
    const box = await composer.boundingBox();
    expect(box).not.toBeNull();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(NARROW.width);
    expect(box!.y + box!.height).toBeLessThanOrEqual(NARROW.height);
    await ui.page.locator('[data-testid="message"] .katex').first().waitFor();
    await ui.env.screenshot("layout-chat-messages-390");
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);

    await ui.page.getByTestId("show-settings").click();
    await ui.page.getByTestId("chat-settings").waitFor({ state: "visible" });
    expect(await composer.isVisible()).toBe(false);
    await ui.env.screenshot("layout-chat-settings-390");
    await ui.page.getByTestId("hide-settings").click();
    await composer.waitFor({ state: "visible" });
    await ui.page.getByTestId("show-conversations").click();
    await list.waitFor({ state: "visible" });
    expect(await composer.isVisible()).toBe(false);
  });

  it("puts a working copy button on code blocks and typesets formulas with KaTeX", async () => {
    await show(`chat/${markdownConversationId}`, WIDE, "light");
    const reply = ui.page.locator('[data-testid="message"][data-role="assistant"]').first();
    await reply.locator(".katex").first().waitFor();
    // A stand-in clipboard records what is written.
    await ui.page.evaluate("navigator.clipboard.writeText = async (text) => { window.__copied = text; }");
    await reply.getByTestId("code-copy").click();
    await expect.poll(() => ui.page.evaluate<string | undefined>("window.__copied"), poll).toBe(CODE);
    await reply.getByTestId("code-copy").getByText("Copied").waitFor();

    const content = reply.getByTestId("message-content");
    expect(await content.locator(".katex").count()).toBeGreaterThanOrEqual(4);
    expect(await content.locator(".katex-display").count()).toBe(2);
    expect(await content.locator(".katex math").count()).toBeGreaterThanOrEqual(4);
    const text = await content.innerText();
    expect(text).not.toContain("$$");
    expect(text).not.toContain("\\frac");
    expect(text).not.toContain("\\(");
    // KaTeX's layout styles survive sanitizing; a style in the reply's own HTML does not.
    expect(await content.locator(".katex-html [style]").count()).toBeGreaterThan(0);
    expect(await content.getByTestId("injected").getAttribute("style")).toBeNull();
    // Its fonts come from the bundle (the page's own origin), and load.
    await ui.page.evaluate("document.fonts.ready");
    const fonts = await ui.page.evaluate<string[]>("performance.getEntriesByType('resource').map((entry) => entry.name).filter((name) => name.includes('KaTeX'))");
    expect(fonts.length).toBeGreaterThan(0);
    for (const font of fonts) expect(font.startsWith(ui.env.serve.url)).toBe(true);
    expect(await ui.page.evaluate<boolean>("document.fonts.check('16px KaTeX_Main')")).toBe(true);
    // None was refused by the Content-Security-Policy (an inlined data: font would be).
    expect(ui.env.pageErrors.filter((error) => /font/i.test(error))).toEqual([]);
    await ui.env.screenshot("polish-code-and-math");
    await ui.page.emulateMedia({ colorScheme: "dark" });
    await ui.env.screenshot("polish-code-and-math-dark");
    await ui.page.emulateMedia({ colorScheme: "light" });
  });

  it("says 1 message for one message", async () => {
    await show("chat", WIDE, "light");
    const item = ui.page.locator(`.conversation-list a[href$="${singleMessageConversationId}"]`);
    await expect.poll(() => item.innerText(), poll).toMatch(/\b1 message\b/);
    expect(await item.innerText()).not.toMatch(/1 messages/);
  });

  it("reaches the composer with a few Tab presses from the header, and the reply region is a polite live region", async () => {
    await show(`chat/${markdownConversationId}`, WIDE, "light");
    await ui.page.locator('[data-testid="message"]').nth(1).waitFor();
    const controlsInUserMessage = await ui.page.locator('[data-testid="message"][data-role="user"] :is(a[href], button, summary)').count();
    expect(controlsInUserMessage, "the user's message has buttons a Tab walk could stop on").toBeGreaterThan(0);
    await ui.page.getByTestId("model-picker").focus();
    const visited: string[] = [];
    while (visited.length < 12) {
      await ui.page.keyboard.press("Tab");
      visited.push(await ui.page.evaluate<string>("(() => { const element = document.activeElement; const message = element?.closest('[data-testid=message]'); return (message ? message.dataset.role + (message === element ? '' : ' control') : '') + ' ' + (element?.dataset?.testid ?? element?.tagName ?? ''); })()"));
      if (visited.at(-1)!.endsWith("composer-input")) break;
    }
    console.info(`[e2e] Tab from the model picker reached the composer in ${visited.length} presses: ${visited.join(" → ")}`);
    expect(visited.at(-1)).toMatch(/composer-input$/);
    // The walk passes the newest message (one stop, then its own buttons), never the older one's buttons.
    expect(visited.filter((stop) => stop.startsWith("user"))).toEqual([]);
    expect(visited.length).toBeLessThanOrEqual(8);
    // Arrow keys move between messages; their buttons come into the Tab order only there.
    await ui.page.keyboard.press("Shift+Tab");
    const focusedMessage = (): Promise<string | null> => ui.page.evaluate("document.activeElement?.closest('[data-testid=message]')?.dataset.role ?? null");
    expect(await focusedMessage()).toBe("assistant");
    await ui.page.keyboard.press("ArrowUp");
    expect(await focusedMessage()).toBe("user");

    const region = ui.page.getByTestId("reply-region");
    expect(await region.getAttribute("aria-live")).toBe("polite");
    expect(await region.getAttribute("aria-busy")).toBe("false");
    // While a reply streams the region is busy (read once, when it is done).
    await ui.page.evaluate(`(() => {
      window.__busy = [];
      const region = document.querySelector('[data-testid="reply-region"]');
      new MutationObserver(() => window.__busy.push(region.getAttribute("aria-busy"))).observe(region, { attributes: true, attributeFilter: ["aria-busy"] });
    })()`);
    await ui.page.getByTestId("composer-input").fill("Once more");
    await ui.page.getByTestId("composer-input").press("Enter");
    await expect.poll(() => ui.page.locator('[data-testid="message"]').count(), poll).toBe(4);
    await expect.poll(() => region.getAttribute("aria-busy"), poll).toBe("false");
    expect(await ui.page.evaluate<string[]>("window.__busy")).toContain("true");
  });

  it("keeps the dashboard cheap while it is open (measured against a 5% of a core target)", async () => {
    await show("dashboard", WIDE, "light");
    await ui.page.getByTestId("chart-cpu").waitFor();
    const session: CDPSession = await ui.page.context().newCDPSession(ui.page);
    await session.send("Performance.enable");
    const taskSeconds = async (): Promise<number> => {
      const { metrics } = await session.send("Performance.getMetrics");
      return metrics.find((metric) => metric.name === "TaskDuration")?.value ?? 0;
    };
    // Let the first samples and the charts' first layout settle.
    await ui.page.waitForTimeout(1500);
    const startTask = await taskSeconds();
    const startCpu = rendererCpuSeconds();
    const started = Date.now();
    // The measured window: ten one-second samples arrive and are drawn (a measured span, not a wait for an event).
    await ui.page.waitForTimeout(10_000);
    const seconds = (Date.now() - started) / 1000;
    const cpuCores = (rendererCpuSeconds() - startCpu) / seconds;
    const taskCores = ((await taskSeconds()) - startTask) / seconds;
    const load = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
    console.info(
      `[e2e] the dashboard used ${(cpuCores * 100).toFixed(2)}% of a CPU core over ${seconds.toFixed(1)} s (renderer CPU time; main-thread task time ${(taskCores * 100).toFixed(2)}%, load average ${load})`,
    );
    await session.detach();
    // The figure to read is the one printed above (target: under 5% of a core; 2.5–5.5% here on a
    // shared machine). The bound guards against the regression itself (~45% of a core before)
    // with room for a busy machine, so it never fails on noise.
    expect(cpuCores).toBeLessThan(0.15);
  }, 60_000);
});
