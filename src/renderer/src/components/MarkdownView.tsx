import { memo, useMemo } from "react";
import { renderMarkdown } from "../lib/markdown.js";

/** Renders Markdown through marked + highlight.js + DOMPurify (see renderMarkdown); re-renders only when the text changes. */
export const MarkdownView = memo(function MarkdownView({ text, testId }: { text: string; testId?: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  // The HTML comes from renderMarkdown, which sanitizes everything with DOMPurify.
  return <div className="markdown" data-testid={testId} dangerouslySetInnerHTML={{ __html: html }} />;
});
