import * as z from "zod/mini";

/**
 * The API Gateway WebSocket event, as much of it as chat reads. Our own schema:
 * Powertools' APIGatewayProxyWebsocketEventSchema rejects real $connect events (it requires
 * fields only an authorizer sets).
 */
export const WebSocketEvent = z.object({
  requestContext: z.object({
    routeKey: z.string(),
    eventType: z.enum(["CONNECT", "MESSAGE", "DISCONNECT"]),
    connectionId: z.string().check(z.minLength(1)),
    connectedAt: z.optional(z.number()),
    requestTimeEpoch: z.optional(z.number()),
    authorizer: z.optional(z.looseObject({ userId: z.optional(z.string().check(z.minLength(1))) })),
  }),
  queryStringParameters: z.nullish(z.record(z.string(), z.optional(z.string()))),
  body: z.nullish(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
});
export type WebSocketEvent = z.infer<typeof WebSocketEvent>;

export interface WebSocketResult {
  statusCode: number;
  body?: string;
}
