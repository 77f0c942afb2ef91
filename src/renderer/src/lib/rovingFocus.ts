import { useEffect, type RefObject } from "react";

/** What can take the keyboard focus inside an item. */
const CONTROLS = "a[href], button, summary, input, select, textarea, [tabindex]";

/**
 * Roving tabindex over the items of a list (the WAI-ARIA Authoring Practices' way of keeping a
 * composite widget one Tab stop: "Managing focus within components using a roving tabindex").
 * The list is a single Tab stop, its current item (the last one until another is focused);
 * ArrowUp/ArrowDown/Home/End move between items; the controls inside an item join the Tab order
 * only while the focus is in that item. So Tab goes header → current message (→ its buttons) →
 * composer instead of through every message's buttons, and screen readers' reading cursor is
 * untouched (tabindex changes only the Tab order).
 * @param itemSelector the items, e.g. `[data-testid="message"]`.
 */
export function useRovingFocus(container: RefObject<HTMLElement | null>, itemSelector: string): void {
  useEffect(() => {
    const root = container.current;
    if (!root) return;
    let current: HTMLElement | null = null;
    let frame = 0;

    const items = (): HTMLElement[] => [...root.querySelectorAll<HTMLElement>(itemSelector)];
    /** Sets every item's and control's tabindex for the focus being on `focused`. */
    const apply = (focused: Element | null): void => {
      const all = items();
      if (!current || !all.includes(current)) current = all[all.length - 1] ?? null;
      const focusInCurrent = current !== null && focused !== null && current.contains(focused);
      for (const item of all) {
        const isCurrent = item === current;
        // The attribute, not the property: an item without one already reads tabIndex -1, yet cannot take focus.
        const tabIndex = isCurrent ? "0" : "-1";
        if (item.getAttribute("tabindex") !== tabIndex) item.setAttribute("tabindex", tabIndex);
        for (const control of item.querySelectorAll<HTMLElement>(CONTROLS)) {
          if (isCurrent && focusInCurrent) control.removeAttribute("tabindex");
          else if (control.getAttribute("tabindex") !== "-1") control.setAttribute("tabindex", "-1");
        }
      }
    };
    const applyLater = (): void => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        apply(document.activeElement);
      });
    };

    const onFocusIn = (event: FocusEvent): void => {
      const item = (event.target as Element).closest<HTMLElement>(itemSelector);
      if (item && root.contains(item)) current = item;
      apply(event.target as Element);
    };
    const onFocusOut = (event: FocusEvent): void => {
      const next = event.relatedTarget as Element | null;
      if (!next || !root.contains(next)) apply(next);
    };
    const onKeyDown = (event: KeyboardEvent): void => {
      const target = event.target as HTMLElement;
      if (!target.matches(itemSelector)) return;
      const all = items();
      const index = all.indexOf(target);
      const next =
        event.key === "ArrowDown" ? all[index + 1] : event.key === "ArrowUp" ? all[index - 1] : event.key === "Home" ? all[0] : event.key === "End" ? all[all.length - 1] : undefined;
      if (!next) return;
      event.preventDefault();
      next.focus();
    };

    // New messages and streamed content bring new controls: fold them in once per frame.
    const observer = new MutationObserver(applyLater);
    observer.observe(root, { childList: true, subtree: true });
    root.addEventListener("focusin", onFocusIn);
    root.addEventListener("focusout", onFocusOut);
    root.addEventListener("keydown", onKeyDown);
    apply(document.activeElement);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      root.removeEventListener("focusin", onFocusIn);
      root.removeEventListener("focusout", onFocusOut);
      root.removeEventListener("keydown", onKeyDown);
    };
  }, [container, itemSelector]);
}
