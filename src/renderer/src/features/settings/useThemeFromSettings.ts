import { useEffect } from "react";
import { useSettings } from "../../app/StoresContext.js";
import { applyTheme } from "./theme.js";

/** Keeps the page's theme equal to the app setting. */
export function useThemeFromSettings(): void {
  const theme = useSettings((state) => state.settings?.theme);
  useEffect(() => {
    if (theme) applyTheme(theme);
  }, [theme]);
}
