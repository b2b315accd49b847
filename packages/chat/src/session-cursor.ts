import { createHmac, timingSafeEqual } from "node:crypto";
import type { SessionPosition } from "@azuchi/core";
import * as z from "zod/mini";
import { FrameError } from "./client-frames.ts";

const Position = z.strictObject({ s: z.uuid(), u: z.int().check(z.nonnegative()) });
const MAC_BYTES = 16;

/**
 * listSessions' `cursor`: where the next page starts, opaque to the client and signed for
 * the user it was issued to: `base64url(JSON {s: sessionId, u: updatedAt}).base64url(mac)`,
 * the mac an HMAC-SHA256 (truncated to 128 bits) over the user and the position. A cursor
 * that was altered, made up, or issued to someone else is refused. (The query is keyed by
 * the caller's userId anyway, so even a forged position could not reach another user's sessions.)
 */
export class SessionCursors {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    this.key = key;
  }

  encode(userId: string, position: SessionPosition): string {
    const body = Buffer.from(JSON.stringify({ s: position.sessionId, u: position.updatedAt })).toString("base64url");
    return `${body}.${this.mac(userId, body).toString("base64url")}`;
  }

  /** The position in a cursor, or BAD_REQUEST. */
  decode(userId: string, cursor: string): SessionPosition {
    const [body, mac, extra] = cursor.split(".");
    if (!body || !mac || extra !== undefined) throw invalid();
    const given = Buffer.from(mac, "base64url");
    const expected = this.mac(userId, body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      throw invalid();
    }
    const position = Position.safeParse(json);
    if (!position.success) throw invalid();
    return { sessionId: position.data.s, updatedAt: position.data.u };
  }

  private mac(userId: string, body: string): Buffer {
    return createHmac("sha256", this.key).update(`${userId}\n${body}`).digest().subarray(0, MAC_BYTES);
  }
}

function invalid(): FrameError {
  return new FrameError("BAD_REQUEST", "The cursor is not valid: use the cursor of your last sessions frame, or none for the first page.");
}

/** The cursor key, derived from a secret the service already has, so every instance issues and accepts the same cursors. */
export function cursorKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("azuchi listSessions cursor v1").digest();
}
