import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { characterCount, MAX_MESSAGE_CHARS } from "@azuchi/core/contracts";

interface ComposerProps {
  /** Queues the text; false when it was refused (the notice says why) and the text stays. */
  onSend(text: string): boolean;
  onStop(): void;
  answering: boolean;
  stopping: boolean;
  canStop: boolean;
  online: boolean;
  returned: { text: string; nonce: number } | undefined;
  /** Changes when the user switches chats: the box is emptied and focused. */
  switches: number;
}

const MESSAGE_BOX_ID = "message";
/**
 * The text being typed, kept for this tab (sessionStorage): a reload, or a trip to the
 * identity provider when the sign-in has expired, gives it back.
 */
const DRAFT_KEY = "azuchi.draft";

function readDraft(): string {
  try {
    return sessionStorage.getItem(DRAFT_KEY) ?? "";
  } catch {
    return "";
  }
}

function keepDraft(text: string): void {
  try {
    if (text) sessionStorage.setItem(DRAFT_KEY, text);
    else sessionStorage.removeItem(DRAFT_KEY);
  } catch {
    // Storage may be full or off: the draft then lives only in the box.
  }
}

/** Gives the message box the focus: where it goes when the control that had it disappears. */
export function focusMessageBox(): void {
  document.getElementById(MESSAGE_BOX_ID)?.focus();
}

/** The counter shows from this share of the limit on. */
const COUNTER_FROM = 0.9;

/**
 * A touch keyboard has no Shift+Enter: there, Return is a new line and the Send button sends,
 * and the hint is short enough for a phone's box.
 */
const touchKeyboard = () => typeof window !== "undefined" && window.matchMedia("(pointer: coarse)").matches;

export function Composer({ onSend, onStop, answering, stopping, canStop, online, returned, switches }: ComposerProps) {
  const [text, setText] = useState(readDraft);
  useEffect(() => keepDraft(text), [text]);
  const box = useRef<HTMLTextAreaElement>(null);
  const [touch] = useState(touchKeyboard);

  useEffect(() => {
    if (switches > 0) setText("");
    box.current?.focus();
  }, [switches]);

  // A message the server refused comes back to the box, unless the user already typed anew.
  useEffect(() => {
    if (returned) setText((current) => (current.trim() === "" ? returned.text : current));
  }, [returned]);

  const submit = (event?: { preventDefault(): void }) => {
    event?.preventDefault();
    if (text.trim() === "") return;
    if (onSend(text)) setText("");
    box.current?.focus();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME conversion (Japanese input) is neither.
    if (event.key === "Enter" && !touch && !event.shiftKey && !event.nativeEvent.isComposing && event.keyCode !== 229) submit(event);
  };

  const length = text.length >= MAX_MESSAGE_CHARS * COUNTER_FROM ? characterCount(text) : 0;
  const hint = !online
    ? "You are offline: what you send now is kept and goes out when the connection is back."
    : answering
      ? "The agent is answering. What you send now is queued and answered next."
      : undefined;

  return (
    <form className="composer" onSubmit={submit}>
      {hint && (
        <p className="composer-hint" id="composer-hint">
          {hint}
        </p>
      )}
      <div className="composer-row">
        <textarea
          ref={box}
          id={MESSAGE_BOX_ID}
          aria-label="Message"
          aria-describedby={hint ? "composer-hint" : undefined}
          placeholder={answering ? "Queue another message…" : touch ? "Message azuchi" : "Message azuchi — Enter to send, Shift+Enter for a new line"}
          value={text}
          rows={1}
          onChange={(event) => setText(event.target.value)}
          onKeyDown={onKeyDown}
          enterKeyHint={touch ? "enter" : "send"}
        />
        {answering && canStop && (
          <button type="button" className="stop" aria-label="Stop" title={stopping ? "Stopping…" : "Stop the answer"} onClick={() => {
              onStop();
              // Stop is disabled at once and gone when the answer ends: the focus must not fall to the page.
              box.current?.focus();
            }}
            disabled={stopping || !online}
          >
            <span aria-hidden="true" className="stop-icon" />
            <span className="button-text">{stopping ? "Stopping…" : "Stop"}</span>
          </button>
        )}
        <button type="submit" className="send" aria-label="Send" disabled={text.trim() === ""}>
          <span aria-hidden="true" className="send-icon">
            ↑
          </span>
          <span className="button-text">Send</span>
        </button>
      </div>
      {length > 0 && (
        <p className="counter" data-over={length > MAX_MESSAGE_CHARS || undefined} aria-live="polite">
          {length.toLocaleString("en-US")} / {MAX_MESSAGE_CHARS.toLocaleString("en-US")} characters
        </p>
      )}
    </form>
  );
}
