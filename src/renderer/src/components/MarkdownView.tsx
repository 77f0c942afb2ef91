import "katex/dist/katex.min.css";
import { memo, useLayoutEffect, useMemo, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { renderMarkdown } from "../lib/markdown.js";
import { CopyButton } from "./CopyButton.js";

interface CodeCopySlot {
  /** The element in a code block's bar that holds the copy button. */
  slot: HTMLElement;
  code: string;
}

/**
 * Finds the code blocks of freshly inserted HTML and gives each an empty slot for a copy button.
 * The buttons are React portals (the sanitized HTML itself carries no buttons: DOMPurify removes them).
 */
function useCodeCopySlots(container: React.RefObject<HTMLDivElement | null>, html: string): CodeCopySlot[] {
  const [slots, setSlots] = useState<CodeCopySlot[]>([]);
  useLayoutEffect(() => {
    const blocks = container.current?.querySelectorAll<HTMLElement>(".code-block") ?? [];
    setSlots(
      [...blocks].map((block) => {
        const slot = document.createElement("span");
        slot.className = "code-copy";
        (block.querySelector(".code-block-bar") ?? block).append(slot);
        return { slot, code: block.querySelector("code")?.textContent ?? "" };
      }),
    );
  }, [container, html]);
  return slots;
}

/**
 * Renders Markdown through marked + highlight.js + KaTeX + DOMPurify (see renderMarkdown), with a
 * copy button on every fenced code block; re-renders only when the text changes.
 */
export const MarkdownView = memo(function MarkdownView({ text, testId }: { text: string; testId?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  const container = useRef<HTMLDivElement>(null);
  const slots = useCodeCopySlots(container, html);
  return (
    <>
      {/* The HTML comes from renderMarkdown, which sanitizes everything with DOMPurify. */}
      <div ref={container} className="markdown" data-testid={testId} dangerouslySetInnerHTML={{ __html: html }} />
      {slots.map(({ slot, code }, index) => createPortal(<CopyButton text={code} label="Copy code" testId="code-copy" />, slot, `${index}`))}
    </>
  );
});
