import "./chatBehaviour.css";
import { useCallback, useEffect, useRef, useState, type RefObject } from "react";
import { useChat } from "../../app/StoresContext.js";
import { MessageItem } from "./MessageItem.js";
import { StreamingMessage } from "./StreamingMessage.js";

/** How close to the bottom (px) still counts as "at the bottom" (sub-pixel scroll positions, a last line). */
const BOTTOM_SLACK_PX = 48;

/**
 * The open conversation's messages. Stored messages re-render only when the list changes
 * (each item is memoized); the streaming reply renders on its own, once per frame.
 *
 * Stick to bottom: the view follows new text while the user is at the bottom; scrolling up
 * stops following (and shows "Jump to latest"); opening another conversation or sending
 * (send, regenerate, retry, edit) always sticks again.
 */
export function MessageList({ scrollerRef }: { scrollerRef: RefObject<HTMLDivElement | null> }) {
  const messages = useChat((state) => state.active?.messages);
  const activeId = useChat((state) => state.activeId);
  const sendSerial = useChat((state) => state.sendSerial);
  const loading = useChat((state) => state.loadingActive);
  const streamingHere = useChat((state) => state.streaming !== null && state.streaming.conversationId === state.activeId);
  const busy = useChat((state) => state.streaming !== null);
  const stickToBottom = useRef(true);
  const [atBottom, setAtBottom] = useState(true);

  const scrollToBottom = useCallback(() => {
    const scroller = scrollerRef.current;
    if (scroller && stickToBottom.current) scroller.scrollTop = scroller.scrollHeight;
  }, [scrollerRef]);
  const stick = useCallback(() => {
    stickToBottom.current = true;
    setAtBottom(true);
    scrollToBottom();
  }, [scrollToBottom]);
  // A new conversation, or the user's own send, follows the reply whatever the scroll position was.
  useEffect(stick, [activeId, sendSerial, stick]);
  useEffect(scrollToBottom, [messages, scrollToBottom]);

  const lastAssistantIndex = messages ? messages.findLastIndex((message) => message.role === "assistant") : -1;
  return (
    <div
      className="message-scroller"
      ref={scrollerRef}
      onScroll={(event) => {
        const element = event.currentTarget;
        const bottom = element.scrollHeight - element.scrollTop - element.clientHeight < BOTTOM_SLACK_PX;
        stickToBottom.current = bottom;
        setAtBottom(bottom);
      }}
      data-testid="messages"
    >
      {loading && !messages && <p className="muted center">Opening the conversation…</p>}
      {!loading && (!messages || messages.length === 0) && !streamingHere && (
        <div className="chat-empty">
          <p className="chat-empty-title">Say hello</p>
          <p className="muted">Messages stay on this machine. Pick a model above, then type below.</p>
        </div>
      )}
      <ol className="message-list" aria-label="Messages">
        {messages?.map((message, index) => (
          <MessageItem
            key={message.id}
            message={message}
            canRegenerate={!busy && index === lastAssistantIndex && index === messages.length - 1}
            canEdit={!busy}
            isLast={index === messages.length - 1}
          />
        ))}
        {streamingHere && <StreamingMessage onGrow={scrollToBottom} />}
      </ol>
      {!atBottom && (
        <button type="button" className="button button-small jump-to-latest" onClick={stick} data-testid="jump-to-latest">
          ↓ Jump to latest
        </button>
      )}
    </div>
  );
}
