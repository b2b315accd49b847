import type { ErrorFrameLike } from "./protocol.ts";

/** What went wrong, said for people; `action` is what the notice offers to do about it. */
export interface HumanError {
  text: string;
  action?: "signIn" | "newChat" | "retrySend";
}

const count = (n: number) => n.toLocaleString("en-US");

export function tooLongText(length: number, limit: number): string {
  return `Your message is ${count(length)} characters long; a message can have at most ${count(limit)}. Shorten it and send again.`;
}

/** An `error` frame from the server as a sentence for the user. */
export function describeError(frame: ErrorFrameLike): HumanError {
  switch (frame.code) {
    case "MESSAGE_TOO_LONG": {
      const limit = typeof frame.limit === "number" ? frame.limit : undefined;
      const length = typeof frame.length === "number" ? frame.length : undefined;
      if (limit !== undefined && length !== undefined) return { text: tooLongText(length, limit) };
      return { text: limit !== undefined ? `Your message is too long; a message can have at most ${count(limit)} characters.` : "Your message is too long. Shorten it and send again." };
    }
    case "RATE_LIMITED":
      return { text: "You are sending messages faster than the server accepts; the next one goes out in a moment." };
    case "BAD_REQUEST":
      return { text: frame.message ? `The server could not accept that: ${frame.message}` : "The server could not accept that message." };
    case "NOT_FOUND":
      return { text: "This conversation no longer exists.", action: "newChat" };
    case "FORBIDDEN":
      return { text: "This conversation belongs to another account.", action: "newChat" };
    case "UNKNOWN_ROUTE":
      return { text: "The server does not support that yet." };
    case "INTERNAL":
      return typeof frame.clientMessageId === "string"
        ? { text: "Your message was saved, but the agent could not be reached.", action: "retrySend" }
        : { text: frame.message ? `Something went wrong on the server: ${frame.message}` : "Something went wrong on the server." };
    default:
      return { text: frame.message || `The server reported an error (${frame.code}).` };
  }
}

export const SIGN_IN_EXPIRED: HumanError = { text: "Your sign-in has expired. Sign in again to continue.", action: "signIn" };

export const SESSION_UNREACHABLE: HumanError = {
  text: "This conversation cannot be opened: the link may be wrong, it may belong to another account, or the server is down. Still trying…",
  action: "newChat",
};
