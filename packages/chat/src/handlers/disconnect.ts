import { connections } from "../deps.ts";
import { WebSocketEvent, type WebSocketResult } from "../websocket-event.ts";

export async function handler(rawEvent: unknown): Promise<WebSocketResult> {
  const { connectionId } = WebSocketEvent.parse(rawEvent).requestContext;
  await connections().delete(connectionId);
  return { statusCode: 200 };
}
