import { useState, type FormEvent } from "react";
import { devSignIn } from "../auth/dev.ts";
import type { AuthSession } from "../auth/session.ts";

/** Locally: a user name, and the stack's /dev/token. Enter in the box signs in. */
export function DevSignIn({ onSignedIn, reason }: { onSignedIn(session: AuthSession): void; reason?: string }) {
  const [user, setUser] = useState("");
  const [error, setError] = useState<string | undefined>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!user.trim()) return setError("Type a user name to sign in.");
    setBusy(true);
    try {
      onSignedIn(await devSignIn(user.trim()));
    } catch (failure) {
      setError(failure instanceof Error && failure.name === "DevSignInError" ? failure.message : "The local server cannot be reached. Is `npm start` running?");
      setBusy(false);
    }
  };
  return (
    <main className="sign-in">
      <form onSubmit={submit} className="sign-in-card">
        <h1>
          <span aria-hidden="true">安土</span> azuchi
        </h1>
        <p className="muted">Local development: pick any user name. Each user has their own chats.</p>
        <label htmlFor="user-name">User name</label>
        <input
          id="user-name"
          name="user"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          value={user}
          onChange={(event) => setUser(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "sign-in-error" : undefined}
        />
        {error && (
          <p id="sign-in-error" className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

/** Deployed: the identity provider's sign-in page. */
export function OidcSignIn({ onSignIn, reason }: { onSignIn(): Promise<void>; reason?: string }) {
  const [error, setError] = useState<string | undefined>(reason);
  const [busy, setBusy] = useState(false);
  return (
    <main className="sign-in">
      <div className="sign-in-card">
        <h1>
          <span aria-hidden="true">安土</span> azuchi
        </h1>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            onSignIn().catch((failure: unknown) => {
              setError(failure instanceof Error ? failure.message : "Sign-in failed.");
              setBusy(false);
            });
          }}
        >
          {busy ? "Opening sign-in…" : "Sign in"}
        </button>
      </div>
    </main>
  );
}
