import { useCallback, useEffect, useRef, type RefObject } from "react";
import { useChat } from "../../app/StoresContext.js";
import { MessageItem } from "./MessageItem.js";
import { StreamingMessage } from "./StreamingMessage.js";

/**
 * The open conversation's messages. Stored messages re-render only when the list changes
 * (each item is memoized); the streaming reply renders on its own, once per frame.
 */
export function MessageList({ scrollerRef }: { scrollerRef: RefObject<HTMLDivElement | null> }) {
  const messages = useChat((state) => state.active?.messages);
  const loading = useChat((state) => state.loadingActive);
  const streamingHere = useChat((state) => state.streaming !== null && state.streaming.conversationId === state.activeId);
  const busy = useChat((state) => state.streaming !== null);
  const stickToBottom = useRef(true);

  const scrollToBottom = useCallback(() => {
    const scroller = scrollerRef.current;
    if (scroller && stickToBottom.current) scroller.scrollTop = scroller.scrollHeight;
  }, [scrollerRef]);
  useEffect(scrollToBottom, [messages, scrollToBottom]);

  const lastAssistantIndex = messages ? messages.findLastIndex((message) => message.role === "assistant") : -1;
  return (
    <div
      className="message-scroller"
      ref={scrollerRef}
      onScroll={(event) => {
        const element = event.currentTarget;
        stickToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
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
          />
        ))}
        {streamingHere && <StreamingMessage onGrow={scrollToBottom} />}
      </ol>
    </div>
  );
}
