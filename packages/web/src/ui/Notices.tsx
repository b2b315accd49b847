import type { Notice } from "../chat/state.ts";

interface NoticesProps {
  notices: Notice[];
  onDismiss(id: string): void;
  onSignIn(): void;
  onNewChat(): void;
  onRetrySend(id: string): void;
}

const ACTION_LABEL = { signIn: "Sign in again", newChat: "Start a new chat", retrySend: "Send again" } as const;

/** Errors and warnings about this tab's chat, each with what can be done about it. */
export function Notices({ notices, onDismiss, onSignIn, onNewChat, onRetrySend }: NoticesProps) {
  if (notices.length === 0) return null;
  const act = (notice: Notice) => {
    if (notice.action === "signIn") onSignIn();
    else if (notice.action === "newChat") onNewChat();
    else if (notice.action === "retrySend") onRetrySend(notice.id);
  };
  return (
    // Not a list: each notice is an alert (announced as it appears), and an alert cannot be a list item.
    <div className="notices">
      {notices.map((notice) => (
        <div key={notice.id} role="alert" className="notice" data-notice={notice.id}>
          <span className="notice-text">{notice.text}</span>
          {notice.action && (
            <button type="button" className="notice-action" onClick={() => act(notice)}>
              {ACTION_LABEL[notice.action]}
            </button>
          )}
          <button type="button" className="notice-dismiss" aria-label="Dismiss" onClick={() => onDismiss(notice.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
