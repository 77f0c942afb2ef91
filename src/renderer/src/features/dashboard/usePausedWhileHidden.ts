import { useEffect, useRef, useState, useSyncExternalStore, type RefObject } from "react";

function subscribe(onChange: () => void): () => void {
  document.addEventListener("visibilitychange", onChange);
  return () => document.removeEventListener("visibilitychange", onChange);
}

/** True while the page is shown (not a background tab, not minimized). */
export function usePageVisible(): boolean {
  return useSyncExternalStore(subscribe, () => document.visibilityState !== "hidden");
}

/** True while `target` is (at least partly) inside the window; true until first observed. */
export function useInView(target: RefObject<Element | null>): boolean {
  const [inView, setInView] = useState(true);
  useEffect(() => {
    const element = target.current;
    if (!element || typeof IntersectionObserver === "undefined") return;
    // A margin, so a chart about to scroll in is already up to date.
    const observer = new IntersectionObserver((entries) => setInView(entries.some((entry) => entry.isIntersecting)), { rootMargin: "200px 0px" });
    observer.observe(element);
    return () => observer.disconnect();
  }, [target]);
  return inView;
}

/**
 * `value`, frozen at its last shown state while the page is hidden or `target` is scrolled out of
 * the window: charts nobody sees are not redrawn (they catch up when they come into view).
 */
export function usePausedWhileHidden<T>(value: T, target: RefObject<Element | null>): T {
  const pageVisible = usePageVisible();
  const inView = useInView(target);
  const visible = pageVisible && inView;
  const shown = useRef(value);
  if (visible) shown.current = value;
  return shown.current;
}
