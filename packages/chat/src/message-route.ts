import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";
import { chatLogger, connections, notifier } from "./deps.ts";
import { FrameError } from "./client-frames.ts";
import { WebSocketEvent, type WebSocketResult } from "./websocket-event.ts";

export interface RouteInput {
  connectionId: string;
  /** The authorizer's userId, present on every event after $connect. */
  userId: string;
  body: string | null | undefined;
  /** This invocation's logger: its lines carry the connectionId, and the sessionId once known. */
  log: Logger;
}

/**
 * Wraps a message route: parses the event, and turns errors into `error` frames to the
 * sender (API Gateway sends nothing back by itself). The connection stays usable.
 */
export function messageRoute(name: string, run: (input: RouteInput) => Promise<void>) {
  return async (rawEvent: unknown, _context?: Context): Promise<WebSocketResult> => {
    const event = WebSocketEvent.parse(rawEvent);
    const { connectionId } = event.requestContext;
    const userId = event.requestContext.authorizer?.userId;
    const log = chatLogger().createChild();
    log.appendKeys({ route: name, connectionId });
    try {
      if (!userId) throw new Error("no authorizer userId on a message event: is the authorizer attached to $connect?");
      await run({ connectionId, userId, body: event.body, log });
      return { statusCode: 200 };
    } catch (error) {
      if (error instanceof FrameError) {
        log.info("frame refused", { code: error.code, reason: error.message });
        await notifier().postToConnection(connectionId, { type: "error", code: error.code, message: error.message, ...error.details });
        return { statusCode: 200 };
      }
      log.error(`${name} failed`, { error: error as Error });
      await notifier()
        .postToConnection(connectionId, { type: "error", code: "INTERNAL", message: "Something went wrong on our side; please try again." })
        .catch(() => undefined);
      // Reported to the client above; a 5xx would make API Gateway send a second, vaguer error.
      return { statusCode: 200 };
    }
  };
}

/**
 * What one handler instance has learnt of its connections' sessions. A connection serves one
 * session for its whole life and its id is never reused, so once read the answer holds: a
 * warm instance reads each connection's row once, not once per message. Bounded; the
 * oldest entries go first.
 */
export class ConnectionSessions {
  private readonly known = new Map<string, { sessionId: string; userId: string }>();
  private readonly limit: number;

  constructor(limit = 10_000) {
    this.limit = limit;
  }

  get(connectionId: string): { sessionId: string; userId: string } | undefined {
    return this.known.get(connectionId);
  }

  remember(connectionId: string, session: { sessionId: string; userId: string }): void {
    if (this.known.size >= this.limit) this.known.delete(this.known.keys().next().value!);
    this.known.set(connectionId, { sessionId: session.sessionId, userId: session.userId });
  }
}

/** The connection's session, which $connect recorded; from here on the log lines carry its sessionId. */
export async function sessionOfConnection(input: Pick<RouteInput, "connectionId" | "log">, known?: ConnectionSessions): Promise<{ sessionId: string; userId: string }> {
  const connection = known?.get(input.connectionId) ?? (await connections().get(input.connectionId));
  if (!connection) throw new FrameError("NOT_FOUND", "This connection has no session; reconnect.");
  known?.remember(input.connectionId, connection);
  input.log.appendKeys({ sessionId: connection.sessionId });
  return connection;
}
