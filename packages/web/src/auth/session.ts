/** A signed-in user, as the chat needs it. */
export interface AuthSession {
  /** Shown in the sidebar. */
  user: string;
  /** A token for the next connection, or undefined when the user must sign in again. Throws when the sign-in service is unreachable. */
  token(): Promise<string | undefined>;
  signOut(): void;
  /** A connection with the last token was refused: the next token() should not reuse it. */
  refused?(): void;
}
