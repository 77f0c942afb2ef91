import { useAppStores, useChat } from "../../app/StoresContext.js";
import { routeHash } from "../../app/router.js";
import { countOf } from "../../lib/plural.js";

function relativeTime(time: number): string {
  const minutes = Math.round((Date.now() - time) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(time).toLocaleDateString();
}

/** The conversations, newest first, and the "New chat" button. */
export function ConversationList() {
  const { chat } = useAppStores();
  const conversations = useChat((state) => state.conversations);
  const activeId = useChat((state) => state.activeId);
  const listLoaded = useChat((state) => state.listLoaded);
  return (
    <nav className="conversation-list" aria-label="Conversations">
      <button type="button" className="button button-primary button-block" onClick={() => void chat.getState().create()} data-testid="new-conversation">
        + New chat
      </button>
      {listLoaded && conversations.length === 0 && <p className="muted small">No conversations yet.</p>}
      <ul>
        {conversations.map((conversation) => (
          <li key={conversation.id}>
            <a
              href={routeHash({ screen: "chat", conversationId: conversation.id })}
              className={conversation.id === activeId ? "conversation-link conversation-link-active" : "conversation-link"}
              aria-current={conversation.id === activeId ? "page" : undefined}
              data-testid="conversation-item"
              data-conversation-id={conversation.id}
            >
              <span className="conversation-title">{conversation.title || "Untitled"}</span>
              <span className="conversation-meta">
                {countOf(conversation.messageCount, "message")} · {relativeTime(conversation.updatedAt)}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
