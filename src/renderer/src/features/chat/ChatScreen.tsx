import { useEffect, useRef } from "react";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { layoutStore, useLayout, useNarrowLayout, type ChatPane } from "../../app/layoutStore.js";
import { navigate } from "../../app/router.js";
import { useAppStores, useChat } from "../../app/StoresContext.js";
import { useRovingFocus } from "../../lib/rovingFocus.js";
import { ChatHeader } from "./ChatHeader.js";
import { ChatSettingsPanel } from "./ChatSettingsPanel.js";
import { Composer } from "./Composer.js";
import { ConversationList } from "./ConversationList.js";
import { MessageList } from "./MessageList.js";

/** Keeps the address bar (#/chat/<id>) and the store's open conversation in step. */
function useConversationRoute(routeId: string | undefined): void {
  const { chat } = useAppStores();
  const activeId = useChat((state) => state.activeId);
  // The address changed (link, back button, reload): open that conversation.
  useEffect(() => {
    if (routeId && routeId !== chat.getState().activeId) void chat.getState().select(routeId);
  }, [routeId, chat]);
  // The store changed (new, deleted): show it in the address.
  useEffect(() => {
    if (activeId && activeId !== routeId) navigate({ screen: "chat", conversationId: activeId }, { replace: true });
    if (!activeId && routeId && !chat.getState().loadingActive && chat.getState().activeId === null) navigate({ screen: "chat" }, { replace: true });
    // Only store changes move the address (routeId is read, not watched).
  }, [activeId]);
}

/** Narrow windows: opening a conversation shows its messages; no conversation shows the list. */
function useChatPaneFollowsConversation(routeId: string | undefined): void {
  useEffect(() => layoutStore.getState().showChatPane(routeId ? "conversation" : "conversations"), [routeId]);
}

const showPane = (pane: ChatPane) => () => layoutStore.getState().showChatPane(pane);

/**
 * Chat: conversations, the open conversation, the composer and the settings panel. Wide windows
 * show all three; below 1100 px the settings take the messages' place on demand; below 900 px one
 * pane shows at a time, switched by the bars' buttons (see app.css).
 */
export function ChatScreen({ conversationId }: { conversationId: string | undefined }) {
  const { chat } = useAppStores();
  const error = useChat((state) => state.error);
  const replying = useChat((state) => state.streaming !== null && state.streaming.conversationId === state.activeId);
  const loading = useChat((state) => state.loadingActive);
  const pane = useLayout((state) => state.chatPane);
  const narrow = useNarrowLayout();
  const scrollerRef = useRef<HTMLDivElement>(null);
  const messagesRef = useRef<HTMLDivElement>(null);
  useConversationRoute(conversationId);
  useChatPaneFollowsConversation(conversationId);
  useRovingFocus(messagesRef, '[data-testid="message"], [data-testid="streaming-message"]');
  return (
    <div
      className="chat-layout"
      data-pane={pane}
      data-testid="chat-layout"
      onClick={(event) => {
        // Picking a conversation (also the one already open) shows its messages in a narrow window.
        if ((event.target as Element).closest(".conversation-list a[href]")) layoutStore.getState().showChatPane("conversation");
      }}
    >
      <ConversationList />
      <section className="chat-main" aria-label="Conversation">
        <div className="chat-pane-bar">
          {narrow && (
            <button type="button" className="button button-small" onClick={showPane("conversations")} data-testid="show-conversations">
              ← Conversations
            </button>
          )}
          <button type="button" className="button button-small chat-pane-bar-end" onClick={showPane("settings")} aria-controls="chat-settings-pane" data-testid="show-settings">
            Settings
          </button>
        </div>
        <ChatHeader />
        <ErrorNotice message={error} onDismiss={() => chat.getState().clearError()} testId="chat-error" />
        {/* One polite live region for the reply: busy while it streams (or the conversation opens), so it is read once, when done. */}
        <div className="chat-messages" ref={messagesRef} aria-live="polite" aria-busy={replying || loading} data-testid="reply-region">
          <MessageList scrollerRef={scrollerRef} />
        </div>
        <Composer />
      </section>
      <div className="chat-settings-pane" id="chat-settings-pane">
        <div className="chat-pane-bar">
          <button type="button" className="button button-small" onClick={showPane("conversation")} data-testid="hide-settings">
            ← Back to chat
          </button>
        </div>
        <ChatSettingsPanel />
      </div>
    </div>
  );
}
