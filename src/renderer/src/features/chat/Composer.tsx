import { useState } from "react";
import { useAppStores, useChat } from "../../app/StoresContext.js";

/** The message box with Send, and Stop while a reply streams. Enter sends; Shift+Enter is a new line. */
export function Composer() {
  const { chat } = useAppStores();
  const [text, setText] = useState("");
  const streaming = useChat((state) => state.streaming !== null);
  const stopRequested = useChat((state) => state.streaming?.stopRequested ?? false);
  const send = (): void => {
    if (!text.trim() || streaming) return;
    const content = text;
    setText("");
    void chat
      .getState()
      .send(content)
      .then((ok) => {
        if (!ok) setText((current) => current || content);
      });
  };
  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label className="visually-hidden" htmlFor="composer-input">
        Message
      </label>
      <textarea
        id="composer-input"
        className="composer-input"
        placeholder="Message the model…  (Enter to send, Shift+Enter for a new line)"
        rows={3}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
            event.preventDefault();
            send();
          }
        }}
        data-testid="composer-input"
      />
      {streaming ? (
        <button type="button" className="button button-danger composer-button" onClick={() => void chat.getState().stopGeneration()} disabled={stopRequested} data-testid="stop-button">
          {stopRequested ? "Stopping…" : "Stop"}
        </button>
      ) : (
        <button type="submit" className="button button-primary composer-button" disabled={!text.trim()} data-testid="send-button">
          Send
        </button>
      )}
    </form>
  );
}
