/**
 * Runs a callback once, before the next frame is painted, and returns a function that cancels it.
 * Stores take one as a parameter so tests can flush "frames" by hand.
 */
export type FrameScheduler = (callback: () => void) => () => void;

/** A scheduler that never waits: runs the callback at once (for tests and non-visual uses). */
export const immediateScheduler: FrameScheduler = (callback) => {
  callback();
  return () => {};
};
