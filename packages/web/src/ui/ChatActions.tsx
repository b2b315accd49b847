import { useEffect, useRef, useState } from "react";

interface ChatActionsProps {
  title: string;
  onRename(title: string): void;
  /** Called once the user has confirmed. */
  onDelete(): void;
}

/** The chat's title in the header, with Rename (in place: Enter saves, Escape cancels) and Delete (confirmed). */
export function ChatTitle({ title, onRename, onDelete }: ChatActionsProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(title);
  const input = useRef<HTMLInputElement>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (editing) input.current?.select();
  }, [editing]);
  const finish = (save: boolean) => {
    setEditing(false);
    if (save && draft.trim() !== "" && draft.trim() !== title) onRename(draft.trim());
    renameButton.current?.focus();
  };

  if (editing) {
    return (
      <form
        className="chat-title rename"
        onSubmit={(event) => {
          event.preventDefault();
          finish(true);
        }}
      >
        <input
          ref={input}
          aria-label="Chat name"
          value={draft}
          maxLength={200}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Escape") {
              event.preventDefault();
              finish(false);
            }
          }}
          onBlur={() => finish(false)}
        />
      </form>
    );
  }
  return (
    <>
      <h1 className="chat-title" title={title}>
        {title}
      </h1>
      <button
        type="button"
        className="chat-action"
        ref={renameButton}
        aria-label="Rename this chat"
        onClick={() => {
          setDraft(title);
          setEditing(true);
        }}
      >
        Rename
      </button>
      <button
        type="button"
        className="chat-action"
        aria-label="Delete this chat"
        onClick={() => {
          if (window.confirm(`Delete “${title}”? Its messages are deleted for good.`)) onDelete();
        }}
      >
        Delete
      </button>
    </>
  );
}
