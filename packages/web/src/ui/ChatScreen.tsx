import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { AuthSession } from "../auth/session.ts";
import { ChatConnection } from "../chat/connection.ts";
import { ChatTitle } from "./ChatActions.tsx";
import { isAnswering, toTurns } from "../chat/turns.ts";
import { sessionFromUrl, showSessionInUrl } from "../session-url.ts";
import { Composer } from "./Composer.tsx";
import { ConnectionStatus } from "./ConnectionStatus.tsx";
import { Conversation } from "./Conversation.tsx";
import { Notices } from "./Notices.tsx";
import { Sidebar } from "./Sidebar.tsx";
import { announcement } from "./announce.ts";
import { focusMessageBox } from "./Composer.tsx";
import { textLang } from "./lang.ts";
import { useMediaQuery } from "./useMediaQuery.ts";
import { useNow } from "./useNow.ts";
import { useOnline } from "./useOnline.ts";

interface ChatScreenProps {
  auth: AuthSession;
  webSocketUrl: string;
  onSignOut(): void;
  onSignInAgain(): void;
}

const SUGGESTIONS = ["Make a plan for a weekend in Kyoto 🍵", "今何時ですか？ What time is it?", "Summarise this chat in three bullet points"];
/** As the stylesheet's drawer breakpoint: narrow screens, and desktops at 200 % zoom. */
const DRAWER_QUERY = "(max-width: 760px)";

export function ChatScreen({ auth, webSocketUrl, onSignOut, onSignInAgain }: ChatScreenProps) {
  const [connection] = useState(() => new ChatConnection({ webSocketUrl, auth, sessionId: sessionFromUrl(), showSession: showSessionInUrl }));
  useEffect(() => {
    connection.start();
    const onPopState = () => {
      setSwitches((n) => n + 1);
      connection.dispatch({ type: "switchSession", sessionId: sessionFromUrl(), fromUrl: true });
    };
    window.addEventListener("popstate", onPopState);
    return () => {
      window.removeEventListener("popstate", onPopState);
      connection.stop();
    };
  }, [connection]);

  const state = useSyncExternalStore(connection.subscribe, connection.getState);
  const online = useOnline();
  const now = useNow(state.connection.phase === "waiting" ? 1_000 : 15_000);
  const turns = useMemo(() => toTurns(state, now), [state, now]);
  const answering = isAnswering(turns);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const drawer = useMediaQuery(DRAWER_QUERY);
  const modal = drawer && drawerOpen;
  const menu = useRef<HTMLButtonElement>(null);
  // The focus goes back to ☰ once the drawer is closed and the page no longer inert (not before: an inert button takes no focus).
  const returnFocus = useRef(false);
  const closeDrawer = () => {
    returnFocus.current = true;
    setDrawerOpen(false);
  };
  useEffect(() => {
    if (drawerOpen || !returnFocus.current) return;
    returnFocus.current = false;
    menu.current?.focus();
  }, [drawerOpen]);

  const firstUserText = state.messages.find((m) => m.role === "USER")?.message;
  const title = state.session?.title || (firstUserText ? firstUserText.slice(0, 80) : "New chat");
  useEffect(() => {
    document.title = `${title} · azuchi`;
  }, [title]);

  // Bumped when the user changes chats: the message box empties and takes the focus.
  const [switches, setSwitches] = useState(0);
  const switchTo = (sessionId: string | undefined) => {
    setDrawerOpen(false);
    setSwitches((n) => n + 1);
    connection.dispatch({ type: "switchSession", sessionId, fromUrl: false });
  };
  const lastReply = turns.findLast((t) => t.reply)?.reply;

  return (
    <div className="app" data-drawer={drawerOpen || undefined}>
      <Sidebar
        id="sidebar"
        open={drawerOpen}
        drawer={drawer}
        items={state.sessions.items}
        currentId={state.sessionId}
        currentTitle={state.session?.title || firstUserText?.slice(0, 80) || ""}
        supported={state.sessions.supported}
        loading={state.sessions.loading}
        hasMore={state.sessions.cursor !== undefined}
        user={auth.user}
        now={now}
        onNewChat={() => switchTo(undefined)}
        onSelect={switchTo}
        onLoadMore={() => connection.dispatch({ type: "loadMoreSessions" })}
        onSignOut={onSignOut}
        onClose={closeDrawer}
      />
      {drawerOpen && <div className="backdrop" onClick={closeDrawer} aria-hidden="true" />}
      <main className="chat" inert={modal}>
        <header className="chat-header">
          <button type="button" className="menu" ref={menu} aria-label="Chats" aria-controls="sidebar" aria-expanded={drawerOpen} onClick={() => setDrawerOpen(!drawerOpen)}>
            <span aria-hidden="true">☰</span>
          </button>
          {state.sessionId && state.messages.length > 0 ? (
            <ChatTitle
              key={state.sessionId}
              title={title}
              onRename={(name) => connection.dispatch({ type: "renameSession", sessionId: state.sessionId!, title: name })}
              onDelete={() => connection.dispatch({ type: "deleteSession", sessionId: state.sessionId! })}
            />
          ) : (
            <h1 className="chat-title" title={title}>
              {title}
            </h1>
          )}
          <ConnectionStatus connection={state.connection} online={online} now={now} onRetry={() => connection.reconnectNow()} />
        </header>
        <Conversation
          turns={turns}
          now={now}
          hasOlder={state.history.hasOlder}
          loadingOlder={state.history.loadingOlder}
          loaded={state.history.loaded}
          onLoadOlder={() => connection.dispatch({ type: "loadOlder" })}
          onEditResend={(text) => connection.send(text)}
          onRegenerate={state.connection.phase === "open" && state.connection.synced ? (messageId) => connection.dispatch({ type: "regenerateReply", messageId, regenerateId: crypto.randomUUID() }) : undefined}
          onRetry={state.connection.phase === "open" && state.connection.synced ? (messageId) => connection.dispatch({ type: "retryMessage", messageId, retryId: crypto.randomUUID() }) : undefined}
          empty={
            <div className="empty">
              <h2>What can azuchi do for you?</h2>
              <p className="muted">
                Ask in English or <span lang="ja">日本語</span>. The agent shows its plan and what it is doing while it answers.
              </p>
              <div className="suggestions">
                {SUGGESTIONS.map((suggestion) => (
                  <button
                    key={suggestion}
                    type="button"
                    onClick={() => {
                      connection.send(suggestion);
                      // The chips go with the empty chat: the focus goes on to where the reply is followed.
                      focusMessageBox();
                    }}
                  >
                    <Mixed text={suggestion} />
                  </button>
                ))}
              </div>
            </div>
          }
        />
        <p className="visually-hidden" aria-live="polite" data-announcer="">
          {announcement(turns, answering, lastReply !== undefined)}
        </p>
        <Notices
          notices={state.notices}
          onDismiss={(id) => {
            connection.dispatch({ type: "dismiss", noticeId: id });
            focusMessageBox();
          }}
          onSignIn={onSignInAgain}
          onNewChat={() => switchTo(undefined)}
          onRetrySend={(id) => connection.dispatch({ type: "retrySend", noticeId: id, now: Date.now() })}
        />
        <Composer
          onSend={(text) => connection.send(text)}
          onStop={() => connection.dispatch({ type: "stop" })}
          answering={answering}
          stopping={state.stopping}
          canStop={state.canStop}
          online={online && state.connection.phase !== "waiting"}
          returned={state.returned}
          switches={switches}
        />
      </main>
    </div>
  );
}

/** A suggestion in two languages: its Japanese part marked as such. */
function Mixed({ text }: { text: string }) {
  const parts = text.split(/(?<=[？。])\s+/u);
  if (parts.length < 2) return <span lang={textLang(text)}>{text}</span>;
  return parts.map((part, index) => (
    <span key={index} lang={textLang(part)}>
      {index > 0 ? " " : ""}
      {part}
    </span>
  ));
}
