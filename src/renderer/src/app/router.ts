import { useSyncExternalStore } from "react";

export type Screen = "models" | "chat" | "dashboard" | "server";

export interface Route {
  screen: Screen;
  /** The open conversation (chat screen). */
  conversationId?: string;
}

const SCREENS: readonly Screen[] = ["models", "chat", "dashboard", "server"];

/** "#/chat/abc" → { screen: "chat", conversationId: "abc" }; anything else → the models screen. */
export function parseHash(hash: string): Route {
  const [screen, id] = hash.replace(/^#\/?/, "").split("/");
  if (!SCREENS.includes(screen as Screen)) return { screen: "models" };
  return screen === "chat" && id ? { screen: "chat", conversationId: decodeURIComponent(id) } : { screen: screen as Screen };
}

export function routeHash(route: Route): string {
  return `#/${route.screen}${route.conversationId ? `/${encodeURIComponent(route.conversationId)}` : ""}`;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener("hashchange", onChange);
  return () => window.removeEventListener("hashchange", onChange);
}

/** The current route, following the address bar's hash. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseHash(hash);
}

/** Goes to a route; `replace` keeps the history entry (for corrections rather than navigation). */
export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const hash = routeHash(route);
  if (window.location.hash === hash) return;
  if (options.replace) {
    window.history.replaceState(null, "", hash);
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    window.location.hash = hash;
  }
}
