import { Fragment, useLayoutEffect, useRef, type ReactNode } from "react";
import type { Turn } from "../chat/turns.ts";
import { formatDay, isSameDay } from "./time.ts";
import { TurnView } from "./TurnView.tsx";

interface ConversationProps {
  turns: Turn[];
  now: number;
  hasOlder: boolean;
  loadingOlder: boolean;
  loaded: boolean;
  onLoadOlder(): void;
  /** Absent while a Retry cannot be sent (not connected). */
  onRetry?: (messageId: string) => void;
  empty: ReactNode;
}

/** Within this many pixels of the bottom, new content keeps the view pinned to the bottom. */
const PINNED_PX = 96;
/** Within this many pixels of the top, the previous page is fetched. */
const LOAD_OLDER_PX = 240;

const turnTime = (turn: Turn) => turn.user?.createdAt ?? turn.pending?.queuedAt ?? turn.lastActivityAt;

export function Conversation({ turns, now, hasOlder, loadingOlder, loaded, onLoadOlder, onRetry, empty }: ConversationProps) {
  const scroller = useRef<HTMLElement>(null);
  const pinned = useRef(true);
  const firstKey = useRef<string | undefined>(undefined);
  const heightBefore = useRef(0);

  // Keep what the user is reading in place: stay at the bottom while it grows, and when an
  // older page is put on top, keep the same message under the eye.
  const lastSent = useRef<string | undefined>(undefined);
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    // What the user just sent is shown, even if they had scrolled up.
    const pending = turns.findLast((t) => t.pending)?.key;
    if (pending !== undefined && pending !== lastSent.current) pinned.current = true;
    // Another chat (or none yet) starts at its newest message.
    if (turns.length === 0) pinned.current = true;
    lastSent.current = pending;
    const key = turns[0]?.key;
    if (firstKey.current !== undefined && key !== firstKey.current && !pinned.current) {
      element.scrollTop += element.scrollHeight - heightBefore.current;
    } else if (pinned.current) {
      element.scrollTop = element.scrollHeight;
    }
    firstKey.current = key;
    heightBefore.current = element.scrollHeight;
  });

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < PINNED_PX;
    heightBefore.current = element.scrollHeight;
    if (element.scrollTop < LOAD_OLDER_PX && hasOlder && !loadingOlder) onLoadOlder();
  };

  return (
    <section className="conversation" aria-label="Conversation" ref={scroller} onScroll={onScroll} tabIndex={0}>
      <div className="conversation-inner">
        {hasOlder && (
          <button type="button" className="load-older" onClick={onLoadOlder} disabled={loadingOlder}>
            {loadingOlder ? "Loading earlier messages…" : "Load earlier messages"}
          </button>
        )}
        {loaded && turns.length === 0 && empty}
        {!loaded && turns.length === 0 && <p className="loading">Loading the conversation…</p>}
        {turns.map((turn, index) => {
          const at = turnTime(turn);
          const previous = turns[index - 1];
          const newDay = !previous || !isSameDay(turnTime(previous), at);
          return (
            <Fragment key={turn.key}>
              {newDay && (
                <div className="day" role="separator">
                  <span>{formatDay(at, now)}</span>
                </div>
              )}
              <TurnView turn={turn} onRetry={onRetry} />
            </Fragment>
          );
        })}
      </div>
    </section>
  );
}
