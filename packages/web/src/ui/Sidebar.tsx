import { useEffect, useRef, type UIEvent } from "react";
import type { SessionListItem } from "../chat/protocol.ts";
import { formatAgo } from "./time.ts";

interface SidebarProps {
  id: string;
  open: boolean;
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
  // The drawer (phones) takes the focus when it opens; Escape closes it.
  useEffect(() => {
    if (open) newChat.current?.focus();
  }, [open]);
  const onScroll = (event: UIEvent<HTMLElement>) => {
    const element = event.currentTarget;
    if (props.hasMore && !props.loading && element.scrollHeight - element.scrollTop - element.clientHeight < 120) props.onLoadMore();
  };
  return (
    <aside id={props.id} className="sidebar" data-open={props.open || undefined} onKeyDown={(event) => event.key === "Escape" && props.onClose()}>
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
                <span className="session-title">{props.currentTitle || "Untitled chat"}</span>
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
                <span className="session-title">{item.title || (item.sessionId === currentId && props.currentTitle) || "Untitled chat"}</span>
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
    </aside>
  );
}
