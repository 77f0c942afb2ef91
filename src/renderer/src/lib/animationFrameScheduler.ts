import type { FrameScheduler } from "./frameScheduler.js";

/**
 * The browser's scheduler: `requestAnimationFrame`, backed by a timer because hidden tabs get no
 * frames at all (a stream in a background tab must still reach the store). Whichever fires first wins.
 */
export function createAnimationFrameScheduler(backstopMs = 250): FrameScheduler {
  return (callback) => {
    let done = false;
    const run = (): void => {
      if (done) return;
      done = true;
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      callback();
    };
    const frame = requestAnimationFrame(run);
    const timer = setTimeout(run, backstopMs);
    return () => {
      done = true;
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  };
}
