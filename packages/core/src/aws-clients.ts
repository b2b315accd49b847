import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

// The SDK reads the region, credentials and AWS_ENDPOINT_URL_<SERVICE> from the
// environment, so the same code reaches AWS or the local stack's emulators.

/**
 * Resolve each command's middleware stack once per client and command class, not on every
 * send (the SDK's default re-sorts and clones the whole stack per call, the largest share of
 * its own CPU in a profile of a turn). Safe for clients whose middleware is not changed after
 * the first send and commands sent without per-call options; DynamoDBDocumentClient refuses it
 * (its commands add their marshalling per instance), so it is not set there.
 */
const cachedMiddleware = { cacheMiddleware: true } as const;

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export type { SQSClient };

export function createSqsClient(): SQSClient {
  return new SQSClient({ ...cachedMiddleware });
}

export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ ...cachedMiddleware });
}

/** The management endpoint is the linked WebSocket API's (it carries the stage in its path). */
export function createManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ endpoint, ...cachedMiddleware });
}
