import { useState } from "react";
import { ConfirmDialog } from "../../components/ConfirmDialog.js";
import { useAppStores, useChat } from "../../app/StoresContext.js";
import { saveTextFile } from "../../lib/saveFile.js";
import { countOf } from "../../lib/plural.js";
import { ContextUsageBar } from "./ContextUsageBar.js";
import { ModelPicker } from "./ModelPicker.js";
import { RenameConversationDialog } from "./RenameConversationDialog.js";

/** The open conversation's title, model, context usage, and its rename/export/delete actions. */
export function ChatHeader() {
  const { chat } = useAppStores();
  const active = useChat((state) => state.active);
  const [renaming, setRenaming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const exportAs = (format: "json" | "markdown"): void => {
    if (!active) return;
    void chat
      .getState()
      .exportConversation(active.id, format)
      .then((file) => file && saveTextFile(file));
  };
  return (
    <header className="chat-header">
      <div className="chat-header-row">
        <h1 className="chat-title" data-testid="conversation-title">
          {active ? active.title || "Untitled" : "New chat"}
        </h1>
        {active && (
          <div className="chat-header-actions">
            <button type="button" className="button button-small button-ghost" onClick={() => setRenaming(true)}>
              Rename
            </button>
            <button type="button" className="button button-small button-ghost" onClick={() => exportAs("json")} aria-label="Export as JSON">
              Export JSON
            </button>
            <button type="button" className="button button-small button-ghost" onClick={() => exportAs("markdown")} aria-label="Export as Markdown">
              Export Markdown
            </button>
            <button type="button" className="button button-small button-ghost-danger" onClick={() => setDeleting(true)} aria-label="Delete conversation">
              Delete
            </button>
          </div>
        )}
      </div>
      <div className="chat-header-row">
        <ModelPicker />
        <ContextUsageBar />
      </div>
      {renaming && active && (
        <RenameConversationDialog
          title={active.title}
          onCancel={() => setRenaming(false)}
          onRename={(title) => {
            setRenaming(false);
            void chat.getState().rename(active.id, title);
          }}
        />
      )}
      {deleting && active && (
        <ConfirmDialog
          title="Delete conversation?"
          confirmLabel="Delete"
          danger
          onCancel={() => setDeleting(false)}
          onConfirm={() => {
            setDeleting(false);
            void chat.getState().remove(active.id);
          }}
        >
          <p>
            “{active.title || "Untitled"}” and its {countOf(active.messages.length, "message")} will be deleted.
          </p>
        </ConfirmDialog>
      )}
    </header>
  );
}
