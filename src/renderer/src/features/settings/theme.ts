import type { AppSettings } from "../../../../shared/contract/index.js";

type Theme = AppSettings["theme"];
const THEME_STORAGE_KEY = "marduk.theme";

/** Sets `data-theme` on <html> ("light"/"dark"; none follows the OS) and remembers it for the next start. */
export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === "system") delete root.dataset.theme;
  else root.dataset.theme = theme;
  try {
    localStorage.setItem(THEME_STORAGE_KEY, theme);
  } catch {
    // storage disabled
  }
}

/** Applies the theme of the last visit before the settings arrive (no flash of the wrong theme). */
export function applyStoredTheme(): void {
  try {
    const stored = localStorage.getItem(THEME_STORAGE_KEY);
    if (stored === "light" || stored === "dark") document.documentElement.dataset.theme = stored;
  } catch {
    // storage disabled
  }
}
