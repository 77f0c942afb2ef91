/**
 * Scripts the browser tests run inside the page (as source text: the tests compile without the
 * DOM library, and these never run in Node).
 */

/** Starts recording every text the streaming reply shows, in `window.__streamed`. */
export const RECORD_STREAMED_TEXT = `(() => {
  const seen = [];
  window.__streamed = seen;
  new MutationObserver(() => {
    const element = document.querySelector('[data-testid="streaming-content"]');
    if (element && element.textContent !== seen[seen.length - 1]) seen.push(element.textContent ?? "");
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

/** The texts recorded by {@link RECORD_STREAMED_TEXT}. */
export const STREAMED_TEXTS = "window.__streamed ?? []";

/** Starts measuring the longest gap between animation frames (a frozen page has long ones). */
export const START_FRAME_METER = `(() => {
  const meter = { longest: 0, last: performance.now(), running: true, frames: 0 };
  window.__frames = meter;
  const tick = (now) => {
    meter.longest = Math.max(meter.longest, now - meter.last);
    meter.last = now;
    meter.frames++;
    if (meter.running) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

/** Stops the meter; returns the longest gap in ms and the frames counted. */
export const STOP_FRAME_METER = "(() => { window.__frames.running = false; return { longest: window.__frames.longest, frames: window.__frames.frames }; })()";

/** The page's explicit theme ("" when it follows the OS). */
export const CURRENT_THEME = "document.documentElement.dataset.theme ?? ''";
