import type { AppSettings } from "../../../../shared/contract/index.js";
import { useId } from "react";
import { FieldError, fieldErrorProps } from "../../components/FieldError.js";
import { useAppStores, useSettings } from "../../app/StoresContext.js";

/** Light, dark or the OS's choice. */
export function ThemePicker() {
  const theme = useSettings((state) => state.settings?.theme ?? "system");
  const error = useSettings((state) => state.fieldErrors.theme);
  const { settings } = useAppStores();
  const errorId = `${useId()}-error`;
  return (
    <label className="theme-picker">
      <span className="field-label">Theme</span>
      <select {...fieldErrorProps(errorId, error)} value={theme} onChange={(event) => void settings.getState().update({ theme: event.target.value as AppSettings["theme"] })}>
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
      <FieldError id={errorId} message={error} testId="theme-error" />
    </label>
  );
}
