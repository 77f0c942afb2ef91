import { useEffect, useRef } from "react";
import { ErrorNotice } from "../../components/ErrorNotice.js";
import { navigate } from "../../app/router.js";
import { useAppStores, useChat } from "../../app/StoresContext.js";
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

/** Chat: conversations, the open conversation, the composer and the settings panel. */
export function ChatScreen({ conversationId }: { conversationId: string | undefined }) {
  const { chat } = useAppStores();
  const error = useChat((state) => state.error);
  const scrollerRef = useRef<HTMLDivElement>(null);
  useConversationRoute(conversationId);
  return (
    <div className="chat-layout">
      <ConversationList />
      <section className="chat-main" aria-label="Conversation">
        <ChatHeader />
        <ErrorNotice message={error} onDismiss={() => chat.getState().clearError()} testId="chat-error" />
        <MessageList scrollerRef={scrollerRef} />
        <Composer />
      </section>
      <ChatSettingsPanel />
    </div>
  );
}
