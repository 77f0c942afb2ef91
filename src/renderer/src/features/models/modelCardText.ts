/**
 * A model card's Markdown made fit for the app before it is rendered (and sanitized) by
 * MarkdownView: images are never loaded (the CSP forbids remote ones, and a card is untrusted),
 * so each becomes a link to it labelled with its alt text.
 */
export function cardMarkdownWithoutImages(markdown: string): string {
  return (
    markdown
      // Markdown images, linked ones included: ![alt](src "title") → [🖼 alt](src)
      .replace(/!\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g, (_match, alt: string, src: string) => `[${imageLabel(alt)}](${src})`)
      // Reference-style images: ![alt][ref] → [alt][ref]
      .replace(/!\[([^\]]*)\]\[([^\]]*)\]/g, (_match, alt: string, ref: string) => `[${imageLabel(alt)}][${ref}]`)
      // HTML images: their alt text (DOMPurify would keep <img>, and the browser would try to load it).
      .replace(/<img\b[^>]*>/gi, (tag) => {
        const alt = /\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(tag);
        const text = alt?.[1] ?? alt?.[2] ?? alt?.[3] ?? "";
        return text ? `[image: ${escapeHtmlText(text)}]` : "";
      })
  );
}

function imageLabel(alt: string): string {
  return `image: ${alt.trim() || "untitled"}`;
}

function escapeHtmlText(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * Where a link of a card leads, as an absolute http(s) URL: relative links resolve against the
 * repository's page; anything else (javascript:, data:, in-page anchors) leads nowhere.
 */
export function resolveCardLink(href: string | null, pageUrl: string): string | undefined {
  if (!href || href.startsWith("#")) return undefined;
  let url: URL;
  try {
    // "./LICENSE" on the hub is <page>/blob/main/LICENSE.
    url = /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//") ? new URL(href, pageUrl) : new URL(href.replace(/^\.?\//, ""), `${pageUrl.replace(/\/+$/, "")}/blob/main/`);
  } catch {
    return undefined;
  }
  return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
}
