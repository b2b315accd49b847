export { createWebSocketGateway, MAX_FRAME_BYTES, type WebSocketGateway, type WebSocketGatewayOptions } from "./websocket-gateway.ts";
export type { WebSocketRoutes, WebSocketRouteHandler } from "./routes.ts";
export type { WebSocketEvent, WebSocketRequestContext, WebSocketAuthorizerContext } from "./websocket-events.ts";
export { MAX_POST_BYTES } from "./management-api.ts";
