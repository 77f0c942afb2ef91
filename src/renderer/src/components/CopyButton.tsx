import { useEffect, useState } from "react";
import { copyText } from "../lib/clipboard.js";

interface CopyButtonProps {
  text: string;
  /** Accessible name, e.g. "Copy API key". */
  label?: string;
  testId?: string;
}

/** Copies text to the clipboard and says so for a moment. */
export function CopyButton({ text, label = "Copy", testId }: CopyButtonProps) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 1500);
    return () => clearTimeout(timer);
  }, [state]);
  const feedback = state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "";
  return (
    <>
      <button
        type="button"
        className="button button-small"
        aria-label={label}
        data-testid={testId}
        onClick={() => void copyText(text).then((ok) => setState(ok ? "copied" : "failed"))}
      >
        {feedback || "Copy"}
      </button>
      {/* Said once by screen readers (the button's own text change is not announced). */}
      <span role="status" className="visually-hidden">
        {feedback}
      </span>
    </>
  );
}
