import { formatClock, formatFull } from "./time.ts";

export function Time({ at }: { at: number }) {
  return (
    <time className="time" dateTime={new Date(at).toISOString()} title={formatFull(at)}>
      {formatClock(at)}
    </time>
  );
}
