import { useEffect, useState } from "react";
import { restoreDevSession } from "./auth/dev.ts";
import { beginOidcSignIn, restoreOidcSession } from "./auth/oidc.ts";
import type { AuthSession } from "./auth/session.ts";
import type { ClientConfig } from "./config.ts";
import { showSessionInUrl } from "./session-url.ts";
import { ChatScreen } from "./ui/ChatScreen.tsx";
import { DevSignIn, OidcSignIn } from "./ui/SignIn.tsx";

export function App({ config }: { config: ClientConfig }) {
  const { oidc } = config;
  const [auth, setAuth] = useState<AuthSession | undefined>(() => (oidc ? undefined : restoreDevSession()));
  const [restoring, setRestoring] = useState(oidc !== undefined);
  const [reason, setReason] = useState<string | undefined>();

  useEffect(() => {
    if (!oidc) return;
    restoreOidcSession(oidc)
      .then(setAuth, (error: unknown) => setReason(error instanceof Error ? error.message : String(error)))
      .finally(() => setRestoring(false));
  }, [oidc]);

  if (restoring) return <p className="loading">Signing in…</p>;
  if (!auth) {
    return oidc ? <OidcSignIn onSignIn={() => beginOidcSignIn(oidc)} reason={reason} /> : <DevSignIn onSignedIn={setAuth} reason={reason} />;
  }
  return (
    <ChatScreen
      key={auth.user}
      auth={auth}
      webSocketUrl={config.webSocketUrl}
      onSignOut={() => {
        auth.signOut();
        // Another user cannot open this user's chats.
        showSessionInUrl(undefined, false);
        setAuth(undefined);
      }}
      onSignInAgain={() => {
        auth.signOut();
        if (oidc) {
          // The provider could not be reached: say so on the sign-in screen rather than nothing.
          beginOidcSignIn(oidc).catch((error: unknown) => {
            setReason(error instanceof Error ? error.message : String(error));
            setAuth(undefined);
          });
        } else {
          setReason("Your sign-in expired. Sign in again.");
          setAuth(undefined);
        }
      }}
    />
  );
}
