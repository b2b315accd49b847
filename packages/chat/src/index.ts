export { CLIENT_ROUTES } from "./client-frames.ts";
export { handler as authorizer } from "./handlers/authorizer.ts";
export { handler as connect } from "./handlers/connect.ts";
export { handler as disconnect } from "./handlers/disconnect.ts";
export { handler as defaultRoute } from "./handlers/default.ts";
export { handler as putMessage } from "./handlers/put-message.ts";
export { handler as getSession } from "./handlers/get-session.ts";
