import { chatDeps } from "../deps.ts";
import { WebSocketEvent, type WebSocketResult } from "../websocket-event.ts";

export async function handler(rawEvent: unknown): Promise<WebSocketResult> {
  const deps = chatDeps();
  const { connectionId } = WebSocketEvent.parse(rawEvent).requestContext;
  await deps.connections.delete(connectionId);
  return { statusCode: 200 };
}
