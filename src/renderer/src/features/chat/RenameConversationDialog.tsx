import { useState } from "react";
import { Dialog } from "../../components/Dialog.js";

/** Asks for a conversation's new title. */
export function RenameConversationDialog({ title, onRename, onCancel }: { title: string; onRename: (title: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState(title);
  return (
    <Dialog title="Rename conversation" onClose={onCancel} testId="rename-dialog">
      <form
        className="dialog-body stack"
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) onRename(value);
        }}
      >
        <label className="field">
          <span className="field-label">Title</span>
          <input type="text" value={value} onChange={(event) => setValue(event.target.value)} autoFocus />
        </label>
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={!value.trim()}>
            Rename
          </button>
        </div>
      </form>
    </Dialog>
  );
}
