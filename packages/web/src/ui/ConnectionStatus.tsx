import type { ConnectionState } from "../chat/state.ts";

export function ConnectionStatus({ connection, online, now, onRetry }: { connection: ConnectionState; online: boolean; now: number; onRetry(): void }) {
  const { phase } = connection;
  let text: string;
  let tone: "ok" | "busy" | "bad";
  // Ticks every second while waiting: shown, but outside the live region, which would say it every time.
  let countdown: string | undefined;
  if (phase === "open" && connection.synced) [text, tone] = ["Connected", "ok"];
  else if (phase === "open") [text, tone] = ["Catching up…", "busy"];
  else if (phase === "connecting" || phase === "idle") [text, tone] = [connection.attempt > 0 ? "Reconnecting…" : "Connecting…", "busy"];
  else if (phase === "signedOut") [text, tone] = ["Signed out", "bad"];
  else {
    const seconds = Math.max(0, Math.ceil(((connection.retryAt ?? now) - now) / 1000));
    text = `${online ? "Disconnected" : "Offline"} — retrying${seconds > 0 ? "" : "…"}`;
    if (seconds > 0) countdown = `in ${seconds} s`;
    tone = "bad";
  }
  return (
    <div className="connection" data-phase={phase} data-tone={tone}>
      <span role="status" aria-live="polite">
        <span className="dot" aria-hidden="true" />
        {text}
      </span>
      {countdown !== undefined && <span className="countdown">{countdown}</span>}
      {phase === "waiting" && (
        <button type="button" className="link" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
