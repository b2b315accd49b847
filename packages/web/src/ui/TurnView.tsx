import type { ChatMessage } from "../chat/protocol.ts";
import type { ReplyStream } from "../chat/streams.ts";
import type { PlanView, Turn, TurnStatus } from "../chat/turns.ts";
import { textLang } from "./lang.ts";
import { Markdown } from "./Markdown.tsx";
import { replyMarks } from "./reply-marks.ts";
import { Time } from "./Time.tsx";

const STATUS_TEXT: Partial<Record<TurnStatus, string>> = {
  sending: "Sending…",
  offline: "Queued — sends when the connection is back",
  queued: "Queued — answered after the current reply",
  waiting: "Waiting for the agent…",
  unanswered: "No answer yet",
};

export function TurnView({ turn }: { turn: Turn }) {
  const text = turn.user?.message ?? turn.pending?.text;
  const hasAgentSide = turn.activity.length > 0 || turn.plan || turn.items.length > 0 || turn.stream;
  const statusText = STATUS_TEXT[turn.status];
  return (
    <article className="turn" data-status={turn.status} aria-busy={turn.status === "answering" || undefined}>
      {text !== undefined && (
        <div className="bubble user" data-role="USER" data-pending={turn.pending ? turn.pending.status : undefined}>
          <Speaker name="You" />
          <p className="plain" lang={textLang(text)}>
            {text}
          </p>
          <footer>
            {statusText && <span className="badge" data-status={turn.status}>{statusText}</span>}
            {turn.user && <Time at={turn.user.createdAt} />}
          </footer>
        </div>
      )}
      {hasAgentSide && (
        <div className="agent-side">
          {turn.activity.length > 0 && <ActivityTrail lines={turn.activity} live={turn.status === "answering"} />}
          {turn.plan && <PlanChecklist plan={turn.plan} />}
          {turn.items.map((message) => (
            <Item key={message.messageId} message={message} />
          ))}
          {turn.stream && <StreamingReply stream={turn.stream} stale={turn.status === "unanswered"} />}
        </div>
      )}
      {!hasAgentSide && turn.status === "waiting" && <TypingDots label="Waiting for the agent" />}
    </article>
  );
}

function ActivityTrail({ lines, live }: { lines: ChatMessage[]; live: boolean }) {
  const last = lines.at(-1)!;
  return (
    <details className="activity" data-live={live || undefined}>
      <summary>
        <span className="activity-label">Activity</span>
        <span className="activity-count">{lines.length}</span>
        <span className="activity-last" lang={textLang(last.message)}>
          {last.message}
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

const STEP_LABEL = { pending: "to do", in_progress: "in progress", completed: "done" } as const;

function PlanChecklist({ plan }: { plan: PlanView }) {
  const done = plan.steps.filter((s) => s.status === "completed").length;
  return (
    // A group, not a region: every turn has a plan, and landmarks must be told apart.
    <div className="plan" role="group" aria-label="Plan" data-type="PLAN" data-revision={plan.revision}>
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
        {plan.steps.map((step, index) => (
          <li key={index} data-status={step.status}>
            <span className="step-mark" aria-hidden="true" />
            <span className="plain" lang={textLang(step.step)}>
              {step.step}
            </span>
            <span className="visually-hidden"> ({STEP_LABEL[step.status]})</span>
          </li>
        ))}
      </ol>
    </div>
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
    return (
      <div className="bubble agent" data-role={message.role} data-type={message.messageType} data-stopped={message.stopped || undefined} data-marks={marks.map((m) => m.status).join(" ") || undefined}>
        <Speaker name="azuchi" />
        <div lang={textLang(message.message)}>
          <Markdown text={message.message} />
        </div>
        <footer>
          {marks.map((mark) => (
            <span key={mark.status} className="badge" data-status={mark.status} title={mark.title}>
              {mark.label}
            </span>
          ))}
          <Time at={message.createdAt} />
        </footer>
      </div>
    );
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

/** Who speaks, for screen readers: the bubbles' sides and colours say it to the eye. */
function Speaker({ name }: { name: string }) {
  return <span className="visually-hidden">{name}: </span>;
}
