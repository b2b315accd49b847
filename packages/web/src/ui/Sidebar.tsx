import { useEffect, useRef, type UIEvent } from "react";
import type { SessionListItem } from "../chat/protocol.ts";
import { textLang } from "./lang.ts";
import { formatAgo } from "./time.ts";

interface SidebarProps {
  id: string;
  open: boolean;
  /** A drawer over the chat (narrow screens, large zoom): while open it is a modal dialog. */
  drawer: boolean;
  items: SessionListItem[];
  currentId: string | undefined;
  /** The current session's title when the list does not know it yet. */
  currentTitle: string;
  supported: boolean;
  loading: boolean;
  hasMore: boolean;
  user: string;
  now: number;
  onNewChat(): void;
  onSelect(sessionId: string): void;
  onLoadMore(): void;
  onSignOut(): void;
  onClose(): void;
}

export function Sidebar(props: SidebarProps) {
  const { items, currentId, now, open } = props;
  const newChat = useRef<HTMLButtonElement>(null);
  const modal = props.drawer && open;
  const onClose = useRef(props.onClose);
  useEffect(() => {
    onClose.current = props.onClose;
  });
  // The open drawer takes the focus (the stylesheet makes it visible at once, so it can), and
  // Escape closes it wherever the focus is; the page behind is inert meanwhile (ChatScreen).
  useEffect(() => {
    if (!modal) return;
    newChat.current?.focus();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape") onClose.current();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [modal]);
  const onScroll = (event: UIEvent<HTMLElement>) => {
    const element = event.currentTarget;
    if (props.hasMore && !props.loading && element.scrollHeight - element.scrollTop - element.clientHeight < 120) props.onLoadMore();
  };
  return (
    // A div, as a dialog cannot be an <aside>; complementary otherwise, as an <aside> would be.
    <div id={props.id} className="sidebar" data-open={props.open || undefined} role={modal ? "dialog" : "complementary"} aria-modal={modal || undefined} aria-label={modal ? "Chats" : undefined}>
      <div className="sidebar-top">
        <span className="brand" aria-hidden="true">
          安土 azuchi
        </span>
        <button type="button" className="new-chat" onClick={props.onNewChat} ref={newChat}>
          <span aria-hidden="true">＋</span> New chat
        </button>
      </div>
      <nav aria-label="Chats" className="sessions" onScroll={onScroll}>
        {!props.supported && <p className="muted small">This server does not list past chats yet.</p>}
        <ul>
          {currentId && !items.some((i) => i.sessionId === currentId) && (
            <li>
              <button type="button" aria-current="page" className="session">
                <span className="session-title" lang={textLang(props.currentTitle)}>{props.currentTitle || "Untitled chat"}</span>
              </button>
            </li>
          )}
          {items.map((item) => (
            <li key={item.sessionId}>
              <button
                type="button"
                className="session"
                aria-current={item.sessionId === currentId ? "page" : undefined}
                onClick={() => props.onSelect(item.sessionId)}
              >
                <SessionTitle title={item.title || (item.sessionId === currentId && props.currentTitle) || ""} />
                <span className="session-time">{formatAgo(item.updatedAt, now)}</span>
              </button>
            </li>
          ))}
        </ul>
        {props.hasMore && (
          <button type="button" className="load-more" onClick={props.onLoadMore} disabled={props.loading}>
            {props.loading ? "Loading…" : "Older chats"}
          </button>
        )}
      </nav>
      <div className="sidebar-bottom">
        <span className="user" title={props.user}>
          {props.user}
        </span>
        <button type="button" className="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </div>
  );
}

function SessionTitle({ title }: { title: string }) {
  return (
    <span className="session-title" lang={textLang(title)}>
      {title || "Untitled chat"}
    </span>
  );
}
