import { CLIENT_ROUTES, FrameError, parseJsonObject } from "../client-frames.ts";
import { messageRoute } from "../message-route.ts";

/** $default: a frame no route took. It answers with the routes there are. */
export const handler = messageRoute("$default", async ({ body }) => {
  const frame = parseJsonObject(body);
  const action = typeof frame.action === "string" ? frame.action : undefined;
  throw new FrameError("UNKNOWN_ROUTE", action ? `Unknown action "${action.slice(0, 64)}".` : "The frame has no \"action\".", {
    routes: [...CLIENT_ROUTES],
  });
});
