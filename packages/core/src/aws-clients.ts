import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { signing, signingAndCachedMiddleware, withFastConfig } from "./aws-client-options.ts";

// The SDK reads the region, credentials and AWS_ENDPOINT_URL_<SERVICE> from the
// environment, so the same code reaches AWS or the local stack's emulators. SQS's client is
// in sqs-client.ts, EventBridge's in event-publisher.ts.

export function createDocumentClient(): DynamoDBDocumentClient {
  return withFastConfig(
    DynamoDBDocumentClient.from(new DynamoDBClient({ ...signing }), {
      marshallOptions: { removeUndefinedValues: true },
    }),
  );
}

/** The management endpoint is the linked WebSocket API's (it carries the stage in its path). */
export function createManagementClient(endpoint: string): ApiGatewayManagementApiClient {
  return withFastConfig(new ApiGatewayManagementApiClient({ endpoint, ...signingAndCachedMiddleware }));
}
