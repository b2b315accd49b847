import type { ChatMessage } from "../chat/protocol.ts";
import type { ReplyStream } from "../chat/streams.ts";
import { summaryText, type PlanView, type Turn, type TurnStatus, type TurnSummary } from "../chat/turns.ts";
import { useRef, useState } from "react";
import { textLang } from "./lang.ts";
import { Markdown } from "./Markdown.tsx";
import { CopyButtons } from "./MessageActions.tsx";
import { replyMarks } from "./reply-marks.ts";
import { Time } from "./Time.tsx";

const STATUS_TEXT: Partial<Record<TurnStatus, string>> = {
  sending: "Sending…",
  offline: "Queued — sends when the connection is back",
  queued: "Queued — answered after the current reply",
  waiting: "Waiting for the agent…",
  unanswered: "No answer yet",
};

interface TurnViewProps {
  turn: Turn;
  /** Retry the turn's message after the agent gave up on it; absent while it cannot be sent. */
  onRetry?: (messageId: string) => void;
  /** Only on the last turn once it has ended: send an edited copy of its message as a new one. */
  onEditResend?: (text: string) => boolean;
  /** Only on the last turn once it has ended: another answer to its message, this one kept. */
  onRegenerate?: (messageId: string) => void;
}

export function TurnView({ turn, onRetry, onEditResend, onRegenerate }: TurnViewProps) {
  const text = turn.user?.message ?? turn.pending?.text;
  const [editing, setEditing] = useState(false);
  const hasAgentSide = turn.activity.length > 0 || turn.plan || turn.items.length > 0 || turn.stream || turn.previous.length > 0;
  const statusText = STATUS_TEXT[turn.status];
  return (
    <article className="turn" data-status={turn.status} aria-busy={turn.status === "answering" || undefined}>
      {text !== undefined && editing && onEditResend && (
        <EditMessage
          text={text}
          onCancel={() => setEditing(false)}
          onSend={(edited) => {
            if (onEditResend(edited)) setEditing(false);
          }}
        />
      )}
      {text !== undefined && !(editing && onEditResend) && (
        <div className="bubble user" data-role="USER" data-pending={turn.pending ? turn.pending.status : undefined}>
          <Speaker name="You" />
          <p className="plain" lang={textLang(text)}>
            {text}
          </p>
          <footer>
            {statusText && <span className="badge" data-status={turn.status}>{statusText}</span>}
            {turn.user && <CopyButtons markdown={text} />}
            {turn.user && onEditResend && (
              <button type="button" className="message-action" onClick={() => setEditing(true)}>
                Edit
              </button>
            )}
            {turn.user && <Time at={turn.user.createdAt} />}
          </footer>
        </div>
      )}
      {hasAgentSide && (
        <div className="agent-side">
          {turn.activity.length > 0 && <ActivityTrail lines={turn.activity} live={turn.status === "answering"} status={turn.status} summary={turn.summary} />}
          {turn.plan && <PlanChecklist plan={turn.plan} live={turn.status === "answering"} />}
          {turn.previous.length > 0 && (
            <details className="previous-answers">
              <summary>
                {turn.previous.length === 1 ? "Previous answer" : `Previous answers (${turn.previous.length})`}
              </summary>
              {turn.previous.map((message) => (
                <AgentBubble key={message.messageId} message={message} marks={replyMarks(message)} />
              ))}
            </details>
          )}
          {turn.items.map((message) =>
            message === turn.notice?.message ? (
              // Keyed by the first notice's place, so the one notice updates where it stands.
              // A regeneration that failed is tried again by regenerating.
              <FailureNotice key="notice" turn={turn} onRetry={message.jobId?.includes(":") ? onRegenerate : onRetry} />
            ) : (
              <Item key={message.messageId} message={message} />
            ),
          )}
          {turn.stream && <StreamingReply stream={turn.stream} stale={turn.status === "unanswered"} />}
          {onRegenerate && turn.reply && turn.user && (
            <button type="button" className="message-action regenerate" onClick={() => onRegenerate(turn.user!.messageId)}>
              Regenerate
            </button>
          )}
        </div>
      )}
      {!hasAgentSide && turn.status === "waiting" && <TypingDots label="Waiting for the agent" />}
    </article>
  );
}

function ActivityTrail({ lines, live, status, summary }: { lines: ChatMessage[]; live: boolean; status: TurnStatus; summary?: TurnSummary }) {
  const last = lines.at(-1)!;
  return (
    <details className="activity" data-live={live || undefined} data-ended={summary ? "" : undefined}>
      <summary>
        <span className="activity-label">Activity</span>
        <span className="activity-count">{lines.length}</span>
        <span className="activity-last" lang={summary ? undefined : textLang(last.message)}>
          {summary ? summaryText(summary, status) : last.message}
        </span>
      </summary>
      <ol aria-label="Activity">
        {lines.map((line) => (
          <li key={line.messageId} data-type="AGENT_LOG">
            <span className="plain" lang={textLang(line.message)}>
              {line.message}
            </span>{" "}
            <Time at={line.createdAt} />
          </li>
        ))}
      </ol>
    </details>
  );
}

const STEP_LABEL = { pending: "to do", in_progress: "in progress", completed: "done", unfinished: "not finished" } as const;

/**
 * The plan as the agent last left it. Once the turn has ended, a step still "in progress"
 * is shown as not finished rather than as work going on.
 */
function PlanChecklist({ plan, live }: { plan: PlanView; live: boolean }) {
  const done = plan.steps.filter((s) => s.status === "completed").length;
  return (
    // A group, not a region: every turn has a plan, and landmarks must be told apart.
    <div className="plan" role="group" aria-label="Plan" data-type="PLAN" data-revision={plan.revision} data-complete={done === plan.steps.length || undefined}>
      <header>
        <strong>Plan</strong>
        <span className="plan-progress">
          {done}/{plan.steps.length} done
        </span>
        <Time at={plan.message.createdAt} />
      </header>
      {plan.explanation && (
        <p className="plain plan-explanation" lang={textLang(plan.explanation)}>
          {plan.explanation}
        </p>
      )}
      <ol>
        {plan.steps.map((step, index) => {
          const status = step.status === "in_progress" && !live ? "unfinished" : step.status;
          return (
            <li key={index} data-status={status}>
              <span className="step-mark" aria-hidden="true" />
              <span className="plain" lang={textLang(step.step)}>
                {step.step}
              </span>
              <span className="visually-hidden"> ({STEP_LABEL[status]})</span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/**
 * The job's failures as one notice that updates in place (attempt 1, attempt 2, given up);
 * once given up, a Retry; once the answer came after all, marked resolved.
 */
function FailureNotice({ turn, onRetry }: { turn: Turn; onRetry?: (messageId: string) => void }) {
  const notice = turn.notice!;
  const { message } = notice;
  const user = turn.user;
  const state = notice.resolved ? "resolved" : turn.retry ? "retrying" : notice.final ? "final" : "retrying-soon";
  return (
    <div className="system-notice" role="note" data-type="SYSTEM_LOG" data-state={state} data-count={notice.count}>
      <span aria-hidden="true">{notice.resolved ? "✓" : "⚠"}</span>
      <p className="plain">
        {message.message}
        {notice.resolved && <span className="notice-resolved"> Answered after all.</span>}
      </p>
      {state === "final" && user && (
        <button type="button" className="notice-retry" disabled={!onRetry} onClick={() => onRetry?.(user.messageId)}>
          Retry
        </button>
      )}
      {state === "retrying" && <span className="badge">Retrying…</span>}
      <Time at={message.createdAt} />
    </div>
  );
}

/**
 * Edit and resend: the edited text goes as a new message (the exchange above stays, in the
 * page and in the agent's memory). Enter sends, Escape cancels.
 */
function EditMessage({ text, onSend, onCancel }: { text: string; onSend(text: string): void; onCancel(): void }) {
  const [draft, setDraft] = useState(text);
  return (
    <form
      className="bubble user editing"
      data-role="USER"
      onSubmit={(event) => {
        event.preventDefault();
        if (draft.trim() !== "") onSend(draft);
      }}
    >
      <textarea
        aria-label="Edit your message"
        value={draft}
        autoFocus
        rows={Math.min(8, draft.split("\n").length + 1)}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
          if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing && event.keyCode !== 229) {
            event.preventDefault();
            if (draft.trim() !== "") onSend(draft);
          }
        }}
      />
      <footer>
        <button type="button" className="message-action" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="message-action primary" disabled={draft.trim() === ""}>
          Send edited
        </button>
      </footer>
    </form>
  );
}

function Item({ message }: { message: ChatMessage }) {
  if (message.messageType === "SYSTEM_LOG") {
    return (
      <div className="system-notice" role="note" data-type="SYSTEM_LOG">
        <span aria-hidden="true">⚠</span>
        <p className="plain" lang={textLang(message.message)}>
          {message.message}
        </p>
        <Time at={message.createdAt} />
      </div>
    );
  }
  if (message.messageType === "CONVERSATION" || message.messageType === "PLAN") {
    // A PLAN without a readable payload still has its text.
    const marks = message.messageType === "CONVERSATION" ? replyMarks(message) : [];
    return <AgentBubble message={message} marks={marks} />;
  }
  // A type newer than this page: its text, as plain text.
  return (
    <div className="bubble agent unknown" data-role={message.role} data-type={message.messageType}>
      <Speaker name="azuchi" />
      <p className="plain" lang={textLang(message.message)}>
        {message.message}
      </p>
      <footer>
        <span className="badge">{message.messageType.toLowerCase().replace(/_/g, " ")}</span>
        <Time at={message.createdAt} />
      </footer>
    </div>
  );
}

function StreamingReply({ stream, stale }: { stream: ReplyStream; stale: boolean }) {
  return (
    <div className="bubble agent streaming" data-role="AGENT" data-streaming="">
      <Speaker name="azuchi, writing" />
      {stream.chunks.map((chunk, index) => (
        <div key={chunk.offset} lang={textLang(chunk.text)}>
          {(index > 0 || chunk.offset > 0) && (
            <p className="gap" title="Part of this reply was sent while this tab was not connected; the whole reply appears when it is finished.">
              … part of the reply is not shown yet …
            </p>
          )}
          <Markdown text={chunk.text} />
        </div>
      ))}
      <footer>{stale ? <span className="badge">Interrupted</span> : <TypingDots label="Writing" />}</footer>
    </div>
  );
}

function TypingDots({ label }: { label: string }) {
  return (
    <span className="typing" role="img" aria-label={label}>
      <i />
      <i />
      <i />
    </span>
  );
}

/** A reply (or a PLAN without a readable payload): Markdown, with Copy (Markdown or text). */
function AgentBubble({ message, marks }: { message: ChatMessage; marks: ReturnType<typeof replyMarks> }) {
  const body = useRef<HTMLDivElement>(null);
  return (
    <div
      className="bubble agent"
      data-role={message.role}
      data-type={message.messageType}
      data-reply={message.role === "AGENT" && message.messageType === "CONVERSATION" ? message.messageId : undefined}
      tabIndex={-1}
      data-stopped={message.stopped || undefined}
      data-marks={marks.map((m) => m.status).join(" ") || undefined}
    >
      <Speaker name="azuchi" />
      <div ref={body} lang={textLang(message.message)}>
        <Markdown text={message.message} />
      </div>
      <footer>
        {marks.map((mark) => (
          <span key={mark.status} className="badge" data-status={mark.status} title={mark.title}>
            {mark.label}
          </span>
        ))}
        <CopyButtons markdown={message.message} rendered={body} />
        <Time at={message.createdAt} />
      </footer>
    </div>
  );
}

/** Who speaks, for screen readers: the bubbles' sides and colours say it to the eye. */
function Speaker({ name }: { name: string }) {
  return <span className="visually-hidden">{name}: </span>;
}
