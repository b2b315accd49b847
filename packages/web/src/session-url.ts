/** The session lives in the address bar (`?session=<uuid>`), so a reload or a shared link returns to it. */
const PARAM = "session";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function sessionFromUrl(): string | undefined {
  const id = new URLSearchParams(window.location.search).get(PARAM) ?? undefined;
  return id && UUID.test(id) ? id : undefined;
}

export function showSessionInUrl(sessionId: string | undefined, push: boolean): void {
  const url = new URL(window.location.href);
  if (url.searchParams.get(PARAM) === (sessionId ?? null)) return;
  if (sessionId) url.searchParams.set(PARAM, sessionId);
  else url.searchParams.delete(PARAM);
  if (push) window.history.pushState(null, "", url);
  else window.history.replaceState(null, "", url);
}
