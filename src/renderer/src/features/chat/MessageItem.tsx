import { memo, useState } from "react";
import type { StoredMessage } from "../../../../shared/contract/index.js";
import { CopyButton } from "../../components/CopyButton.js";
import { MarkdownView } from "../../components/MarkdownView.js";
import { useAppStores } from "../../app/StoresContext.js";
import { isLocalMessage } from "./chatStore.js";
import { MessageStatsLine } from "./MessageStatsLine.js";
import { ThinkingBlock, thinkingSummary } from "./ThinkingBlock.js";

/** A reply that is a JSON object or array (JSON output mode) shows as a highlighted block; anything else is Markdown. */
function asMarkdown(content: string): string {
  const trimmed = content.trim();
  if (!/^[[{]/.test(trimmed)) return content;
  try {
    return "```json\n" + JSON.stringify(JSON.parse(trimmed), null, 2) + "\n```";
  } catch {
    return content;
  }
}

interface MessageItemProps {
  message: StoredMessage;
  canRegenerate: boolean;
  canEdit: boolean;
  /** The last message shown (a failed one there offers Retry). */
  isLast: boolean;
}

/** ‹ 2/3 › : switches between the versions of a message (regenerated replies, edited messages). */
function VersionSwitcher({ message, disabled }: { message: StoredMessage; disabled: boolean }) {
  const { chat } = useAppStores();
  const ids = message.versionIds;
  if (!ids || ids.length < 2) return null;
  const index = ids.indexOf(message.id);
  const go = (target: string | undefined): void => {
    if (target) void chat.getState().selectVersion(target);
  };
  return (
    <span className="version-switcher" data-testid="version-switcher">
      <button type="button" className="button button-small button-ghost" aria-label="Previous version" disabled={disabled || index <= 0} onClick={() => go(ids[index - 1])}>
        ‹
      </button>
      <span className="small" data-testid="version-label">
        {index + 1}/{ids.length}
      </span>
      <button type="button" className="button button-small button-ghost" aria-label="Next version" disabled={disabled || index >= ids.length - 1} onClick={() => go(ids[index + 1])}>
        ›
      </button>
    </span>
  );
}

/** One stored message: Markdown for replies (their thinking collapsed above), plain text for the user's; edit, regenerate, copy. */
export const MessageItem = memo(function MessageItem({ message, canRegenerate, canEdit, isLast }: MessageItemProps) {
  const { chat } = useAppStores();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const isUser = message.role === "user";
  return (
    <li
      className={`message message-${message.role}${message.status === "failed" ? " message-failed" : ""}`}
      data-testid="message"
      data-role={message.role}
      data-message-id={message.id}
      data-status={message.status ?? "ok"}
    >
      <div className="message-role">{isUser ? "You" : (message.modelId ?? "Assistant")}</div>
      {!isUser && message.reasoning && <ThinkingBlock reasoning={message.reasoning} summary={thinkingSummary(message.stats?.reasoningTokens)} />}
      {editing ? (
        <form
          className="message-edit"
          onSubmit={(event) => {
            event.preventDefault();
            setEditing(false);
            void chat.getState().editAndResend(message.id, draft);
          }}
        >
          <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
            Edit message
          </label>
          <textarea id={`edit-${message.id}`} value={draft} onChange={(event) => setDraft(event.target.value)} rows={Math.min(10, draft.split("\n").length + 1)} autoFocus />
          <div className="message-actions">
            <button type="submit" className="button button-small button-primary" disabled={!draft.trim()}>
              Send
            </button>
            <button type="button" className="button button-small" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : isUser ? (
        <div className="message-content message-plain" data-testid="message-content">
          {message.content}
        </div>
      ) : (
        <MarkdownView text={asMarkdown(message.content)} testId="message-content" />
      )}
      {!editing && (
        <div className="message-footer">
          {message.stats && <MessageStatsLine stats={message.stats} />}
          {message.status === "failed" && (
            <span className="message-failed-note small" role="status">
              Not answered: the reply failed.
            </span>
          )}
          <div className="message-actions">
            <VersionSwitcher message={message} disabled={!canEdit} />
            {message.status === "failed" && isLast && canEdit && (
              <>
                <button type="button" className="button button-small button-primary" onClick={() => void chat.getState().retry()}>
                  Retry
                </button>
                <button type="button" className="button button-small button-ghost" onClick={() => void chat.getState().deleteMessage(message.id)}>
                  Delete
                </button>
              </>
            )}
            {isUser && canEdit && !isLocalMessage(message) && (
              <button
                type="button"
                className="button button-small button-ghost"
                onClick={() => {
                  setDraft(message.content);
                  setEditing(true);
                }}
              >
                Edit
              </button>
            )}
            {canRegenerate && (
              <button type="button" className="button button-small button-ghost" onClick={() => void chat.getState().regenerate()}>
                Regenerate
              </button>
            )}
            {!isUser && <CopyButton text={message.content} label="Copy reply" />}
          </div>
        </div>
      )}
    </li>
  );
});
