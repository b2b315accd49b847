/** How times read on the page: the user's locale, their time zone. */
const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const day = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
const shortDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

export const formatClock = (at: number) => clock.format(at);
export const formatFull = (at: number) => full.format(at);

const startOfDay = (at: number) => new Date(at).setHours(0, 0, 0, 0);

export function formatDay(at: number, now: number): string {
  const days = Math.round((startOfDay(now) - startOfDay(at)) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  return day.format(at);
}

export const isSameDay = (a: number, b: number) => startOfDay(a) === startOfDay(b);

/** "now", "5 min", "3 h", "Yesterday", "12 Mar": for the session list. */
export function formatAgo(at: number, now: number): string {
  const minutes = Math.floor((now - at) / 60_000);
  if (minutes < 1) return "now";
  if (minutes < 60) return `${minutes} min`;
  if (isSameDay(at, now)) return `${Math.floor(minutes / 60)} h`;
  return formatDay(at, now) === "Yesterday" ? "Yesterday" : shortDay.format(at);
}

