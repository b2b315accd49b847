import { Fragment, useLayoutEffect, useRef, useState, type ReactNode } from "react";
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
  /** Sends an edited copy of the last message as a new one; false when refused (too long). */
  onEditResend?: (text: string) => boolean;
  /** Another answer to the last message; absent while it cannot be sent. */
  onRegenerate?: (messageId: string) => void;
  empty: ReactNode;
}

/** Within this many pixels of the bottom, new content keeps the view pinned to the bottom. */
const PINNED_PX = 96;
/** Within this many pixels of the top, the previous page is fetched. */
const LOAD_OLDER_PX = 240;

/** A turn whose message may be edited and sent again: the agent is done with it. */
const ENDED = new Set<Turn["status"]>(["done", "stopped", "failed", "unanswered"]);

const turnTime = (turn: Turn) => turn.user?.createdAt ?? turn.pending?.queuedAt ?? turn.lastActivityAt;

export function Conversation({ turns, now, hasOlder, loadingOlder, loaded, onLoadOlder, onRetry, onEditResend, onRegenerate, empty }: ConversationProps) {
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

  // An answer that arrives out of sight (a Retry or an ops replay answers an earlier question,
  // or the user has scrolled away) is marked at the bottom; the answer stays under its question.
  // Only an answer to a question already shown is news: an older page brings answers too.
  const seen = useRef<{ turns: Set<string>; replies: Set<string> } | undefined>(undefined);
  const [lateAnswer, setLateAnswer] = useState<{ messageId: string; above: boolean } | undefined>(undefined);
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!loaded) {
      seen.current = undefined;
      if (lateAnswer) setLateAnswer(undefined);
    }
    if (!element || !loaded) return;
    const first = seen.current === undefined;
    const known = (seen.current ??= { turns: new Set(), replies: new Set() });
    for (const turn of turns) {
      const asked = known.turns.has(turn.key);
      known.turns.add(turn.key);
      if (!turn.reply || known.replies.has(turn.reply.messageId)) continue;
      known.replies.add(turn.reply.messageId);
      if (first || !asked) continue;
      const answer = element.querySelector(`[data-reply="${turn.reply.messageId}"]`);
      if (answer && !inView(answer, element)) setLateAnswer({ messageId: turn.reply.messageId, above: answer.getBoundingClientRect().top < element.getBoundingClientRect().top });
    }
  });
  const showLateAnswer = () => {
    const answer = scroller.current?.querySelector<HTMLElement>(`[data-reply="${lateAnswer?.messageId}"]`);
    setLateAnswer(undefined);
    if (!answer) return;
    // Reading the answer, no longer following the bottom (the next render must not scroll back).
    pinned.current = false;
    answer.scrollIntoView({ block: "center" });
    answer.focus({ preventScroll: true });
  };

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    if (lateAnswer) {
      const answer = element.querySelector(`[data-reply="${lateAnswer.messageId}"]`);
      if (!answer || inView(answer, element)) setLateAnswer(undefined);
    }
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
              <TurnView
                turn={turn}
                onRetry={onRetry}
                onEditResend={index === turns.length - 1 && turn.user && ENDED.has(turn.status) ? onEditResend : undefined}
                onRegenerate={index === turns.length - 1 && turn.user && ENDED.has(turn.status) ? onRegenerate : undefined}
              />
            </Fragment>
          );
        })}
        {lateAnswer && (
          <button type="button" className="late-answer" onClick={showLateAnswer}>
            {lateAnswer.above ? "↑ Answer to an earlier question" : "↓ New answer"}
          </button>
        )}
      </div>
    </section>
  );
}

/** Whether most of `element` is within the scroller's visible area. */
function inView(element: Element, scroller: HTMLElement): boolean {
  const box = element.getBoundingClientRect();
  const view = scroller.getBoundingClientRect();
  const visible = Math.min(box.bottom, view.bottom) - Math.max(box.top, view.top);
  return visible >= Math.min(box.height, view.height) / 2;
}
