import type { MouseEvent } from "react";
import { MarkdownView } from "../../components/MarkdownView.js";
import { useModels } from "../../app/StoresContext.js";
import { cardMarkdownWithoutImages, resolveCardLink } from "./modelCardText.js";

/**
 * The open repository's model card (its README), rendered like chat messages (marked +
 * DOMPurify) without images. Links never navigate the app: they open in a new window (the
 * desktop app hands those to the system browser), and those leading nowhere do nothing.
 */
export function ModelCard() {
  const card = useModels((state) => state.hub.card);
  const loading = useModels((state) => state.hub.loadingCard);
  const error = useModels((state) => state.hub.cardError);
  // When the files could not be read either (a gated repository), their error says it all.
  const filesFailed = useModels((state) => state.hub.filesError !== null);
  if (filesFailed) return null;
  if (loading) return <p className="muted hub-card">Reading the model card…</p>;
  if (error) {
    return (
      <p className="notice notice-warning hub-card" role="status" data-testid="hub-card-error">
        The model card could not be read: {error}
      </p>
    );
  }
  if (!card) return null;
  if (card.markdown === null || card.markdown.trim() === "") return <p className="muted hub-card">This repository has no model card.</p>;
  const onClick = (event: MouseEvent<HTMLElement>): void => {
    const anchor = (event.target as Element).closest("a");
    if (!anchor) return;
    event.preventDefault();
    const url = resolveCardLink(anchor.getAttribute("href"), card.pageUrl);
    if (url) window.open(url, "_blank", "noopener,noreferrer");
  };
  return (
    <details className="hub-card" open data-testid="hub-card">
      <summary>Model card</summary>
      {/* The links' clicks (Enter on a focused link is one too) are handled here, for every link of the card. */}
      <div className="hub-card-body" onClick={onClick}>
        <MarkdownView text={cardMarkdownWithoutImages(card.markdown)} testId="hub-card-markdown" />
        {card.truncated && <p className="muted">The model card is longer than 512 KB; the rest is on the hub.</p>}
      </div>
    </details>
  );
}
