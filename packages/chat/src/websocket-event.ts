import * as z from "zod";

/**
 * The API Gateway WebSocket event, as much of it as chat reads. Our own schema:
 * Powertools' APIGatewayProxyWebsocketEventSchema rejects real $connect events (it requires
 * fields only an authorizer sets).
 */
export const WebSocketEvent = z.object({
  requestContext: z.object({
    routeKey: z.string(),
    eventType: z.enum(["CONNECT", "MESSAGE", "DISCONNECT"]),
    connectionId: z.string().min(1),
    connectedAt: z.number().optional(),
    requestTimeEpoch: z.number().optional(),
    authorizer: z.looseObject({ userId: z.string().min(1).optional() }).optional(),
  }),
  queryStringParameters: z.record(z.string(), z.string().optional()).nullish(),
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
});
export type WebSocketEvent = z.infer<typeof WebSocketEvent>;

export interface WebSocketResult {
  statusCode: number;
  body?: string;
}
